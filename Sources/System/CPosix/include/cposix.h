#ifndef CPOSIX_H
#define CPOSIX_H
#include <spawn.h>
#include <pthread.h>

/// posix_spawn_file_actions_addchdir_np, which needs _GNU_SOURCE to be declared.
int wb_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);
/// pthread_setname_np, which needs _GNU_SOURCE to be declared.
int wb_pthread_setname(pthread_t thread, const char *name);

#endif
