#ifndef BANDITD_CMALLOC_SHIM_H
#define BANDITD_CMALLOC_SHIM_H
// glibc's allocator tuning (mallopt); Swift's Glibc module does not include <malloc.h>.
#include <malloc.h>

static const int banditd_M_ARENA_MAX = M_ARENA_MAX;
#endif
