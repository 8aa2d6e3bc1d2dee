#ifndef CTESTZLIB_H
#define CTESTZLIB_H
#include <stddef.h>
#include <stdint.h>

/* Decompresses a gzip stream into `output`; returns the size, or 0 on error or when it does not fit.
 * For the Loki stand-in, which must read what the agent sends with Content-Encoding: gzip. */
size_t ctestzlib_gunzip(const uint8_t *input, size_t length, uint8_t *output, size_t capacity);
#endif
