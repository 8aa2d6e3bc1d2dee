#ifndef CZLIB_H
#define CZLIB_H
#include <stddef.h>
#include <stdint.h>

/*
 * gzip-compresses `length` bytes into `output` (capacity `capacity`, see czlib_gzip_bound).
 * Returns the compressed size, or 0 on failure. zlib's deflateInit2 is a macro, so Swift calls
 * this instead.
 */
size_t czlib_gzip(const uint8_t *input, size_t length, uint8_t *output, size_t capacity);

/* An upper bound of the gzip size of `length` bytes. */
size_t czlib_gzip_bound(size_t length);
#endif
