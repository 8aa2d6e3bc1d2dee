#include "CCurl.h"

#include <errno.h>
#include <string.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <stdio.h>
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

static void ccurl_tls_info(const SSL *ssl, int where, int ret) {
    (void)ret;
    if (!(where & SSL_CB_HANDSHAKE_DONE)) {
        return;
    }
    ccurl_tls_facts *facts = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (facts == NULL) {
        return;
    }
    const char *version = SSL_get_version(ssl);
    const char *cipher = SSL_get_cipher_name(ssl);
    snprintf(facts->version, sizeof facts->version, "%s", version ? version : "");
    snprintf(facts->cipher, sizeof facts->cipher, "%s", cipher ? cipher : "");
}

/* libcurl (OpenSSL backend) makes one SSL_CTX per connection and hands it here before the
   handshake; the facts pointer rides on the context for the info callback to find. */
static CURLcode ccurl_ssl_ctx(CURL *handle, void *context, void *facts) {
    (void)handle;
    SSL_CTX_set_app_data((SSL_CTX *)context, facts);
    SSL_CTX_set_info_callback((SSL_CTX *)context, ccurl_tls_info);
    return CURLE_OK;
}

CURLcode ccurl_easy_record_tls(CURL *handle, ccurl_tls_facts *facts) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_SSL_CTX_FUNCTION, ccurl_ssl_ctx);
    if (code != CURLE_OK) {
        return code;
    }
    return curl_easy_setopt(handle, CURLOPT_SSL_CTX_DATA, facts);
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
CURLcode ccurl_easy_getinfo_socket(CURL *handle, CURLINFO info, curl_socket_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
const char *ccurl_response_header(CURL *handle, const char *name, size_t index) {
    struct curl_header *header = NULL;
    if (curl_easy_header(handle, name, index, CURLH_HEADER | CURLH_TRAILER, -1, &header) != CURLHE_OK || header == NULL) {
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

