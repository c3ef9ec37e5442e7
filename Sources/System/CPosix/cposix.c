#define _GNU_SOURCE
#include <spawn.h>
#include <pthread.h>
#include "cposix.h"

int wb_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int wb_pthread_setname(pthread_t thread, const char *name) {
    return pthread_setname_np(thread, name);
}
