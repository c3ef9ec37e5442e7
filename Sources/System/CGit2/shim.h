#ifndef CGit2_SHIM_H
#define CGit2_SHIM_H
#include <git2.h>
#endif
