#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>

/*
 * Swift cannot call C variadic functions, so each curl_easy_setopt / curl_easy_getinfo
 * argument type gets one typed wrapper here. Nothing else in the project
 * includes curl.h.
 */

typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t nmemb, void *userdata);
typedef curl_socket_t (*ccurl_opensocket_callback)(void *userdata, curlsocktype purpose, struct curl_sockaddr *address);

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode ccurl_easy_setopt_data_callback(CURL *handle, CURLoption option, ccurl_data_callback value);
CURLcode ccurl_easy_setopt_opensocket_callback(CURL *handle, ccurl_opensocket_callback value);

CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value);
CURLcode ccurl_easy_getinfo_socket(CURL *handle, CURLINFO info, curl_socket_t *value);
/* The values of response header or trailer `name` of the last response (after redirects), one per call:
   `index` from 0; NULL when there is no such header or no more values. */
const char *ccurl_response_header(CURL *handle, const char *name, size_t index);
CURLcode ccurl_easy_getinfo_certinfo(CURL *handle, struct curl_certinfo **value);

/* The protocol and cipher of the last TLS handshake of a transfer, as OpenSSL names them
   ("TLSv1.3", "TLS_AES_256_GCM_SHA384"); empty strings until a handshake completes. */
typedef struct {
    char version[16];
    char cipher[64];
} ccurl_tls_facts;

/* Makes every TLS handshake of `handle` record into `facts` (through libcurl's SSL_CTX
   callback and an OpenSSL info callback); `facts` must outlive the handle's transfers.
   Returns CURLE_NOT_BUILT_IN when libcurl's TLS library is not OpenSSL. */
CURLcode ccurl_easy_record_tls(CURL *handle, ccurl_tls_facts *facts);

/* Values libcurl defines as macros, which Swift does not import. */
static const long CCURL_AUTH_BASIC = (long)CURLAUTH_BASIC;

/* The running libcurl's version string, e.g. "7.88.1". */
const char *ccurl_version(void);

/*
 * Opens the socket libcurl asks for, as libcurl would, and reports the errno when it cannot:
 * the prober tells "no descriptor left on this node" apart from "the target refused".
 * Returns CURL_SOCKET_BAD on failure and stores errno in *failure.
 */
/* Opens the socket libcurl asks for. One numbered `ceiling` or higher is closed again and
   reported as EMFILE: descriptors are handed out lowest first, so such a number means only the
   descriptors kept for the agent itself are left. */
curl_socket_t ccurl_open_socket(struct curl_sockaddr *address, int ceiling, int *failure);

/* Fields of the first struct CURLMsg, flattened so Swift never reads the C union. */
typedef struct {
    int done;          /* 1 when msg == CURLMSG_DONE */
    CURL *easy;
    CURLcode result;
} ccurl_message;

/* Reads the next message of a multi handle; returns 0 when the queue is empty. */
int ccurl_multi_next_message(CURLM *multi, ccurl_message *out);

#endif
