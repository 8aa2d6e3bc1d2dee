#ifndef CLMDB_H
#define CLMDB_H
#include <lmdb.h>

/* Return codes and flags LMDB defines as parenthesised macros, as constants Swift imports. */
static const int CLMDB_NOTFOUND = MDB_NOTFOUND;
static const int CLMDB_MAP_FULL = MDB_MAP_FULL;
static const int CLMDB_SUCCESS = MDB_SUCCESS;
static const unsigned int CLMDB_NOTLS = MDB_NOTLS;
static const unsigned int CLMDB_NORDAHEAD = MDB_NORDAHEAD;
static const unsigned int CLMDB_CREATE = MDB_CREATE;
static const unsigned int CLMDB_APPEND = MDB_APPEND;
static const unsigned int CLMDB_RDONLY = MDB_RDONLY;
#endif
