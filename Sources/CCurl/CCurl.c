#include "CCurl.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_data_callback(CURL *handle, CURLoption option, ccurl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_easy_setopt_opensocket_callback(CURL *handle, ccurl_opensocket_callback value) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, value);
}

curl_socket_t ccurl_open_socket(struct curl_sockaddr *address, int ceiling, int *failure) {
    curl_socket_t fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd == CURL_SOCKET_BAD) {
        *failure = errno;
    } else if (fd >= ceiling) {
        close(fd);
        fd = CURL_SOCKET_BAD;
        *failure = EMFILE;
    }
    return fd;
}

CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value) {
    return curl_easy_getinfo(handle, info, value);
}
const char *ccurl_response_header(CURL *handle, const char *name, size_t index) {
    struct curl_header *header = NULL;
    if (curl_easy_header(handle, name, index, CURLH_HEADER, -1, &header) != CURLHE_OK || header == NULL) {
        return NULL;
    }
    return header->value;
}
CURLcode ccurl_easy_getinfo_certinfo(CURL *handle, struct curl_certinfo **value) {
    return curl_easy_getinfo(handle, CURLINFO_CERTINFO, value);
}


int ccurl_multi_next_message(CURLM *multi, ccurl_message *out) {
    int remaining = 0;
    CURLMsg *msg = curl_multi_info_read(multi, &remaining);
    if (msg == NULL) {
        return 0;
    }
    out->done = msg->msg == CURLMSG_DONE;
    out->easy = msg->easy_handle;
    out->result = msg->msg == CURLMSG_DONE ? msg->data.result : CURLE_OK;
    return 1;
}

const char *ccurl_version(void) {
    return curl_version_info(CURLVERSION_NOW)->version;
}

