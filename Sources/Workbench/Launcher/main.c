// `wb`, the command users run: picks the program that does the work before anything else is loaded.
//
// `wb git ...` and `wb nbdiff ...` run wb-git (which links libgit2); everything else runs wb-app (the
// notebook, kernels, lakehouse...: ZeroMQ, SQLite, ncurses). Both sit next to this program. A few
// lines of C that load none of Workbench's libraries, it costs about a millisecond, so `wb git status`
// does not first load the ~25 libraries of the rest of Workbench (Docs/performance.md, figure (6)),
// and no other command has to give up anything to keep libgit2 out of its process.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/// `name` in this program's folder, into `out`; 0 on success.
static int sibling(char *out, size_t size, const char *name) {
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0) return -1;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == NULL || (size_t)(slash + 1 - out) + strlen(name) + 1 > size) return -1;
    strcpy(slash + 1, name);
    return 0;
}

int main(int argc, char **argv) {
    int git = argc > 1 && (strcmp(argv[1], "git") == 0 || strcmp(argv[1], "nbdiff") == 0);
    const char *name = git ? "wb-git" : "wb-app";
    char path[PATH_MAX];
    if (sibling(path, sizeof path, name) != 0) {
        fprintf(stderr, "wb: cannot find this program's folder (/proc/self/exe) to run %s\n", name);
        return 127;
    }
    // wb-git is told its own path as argv[0], as wb-app execs it; wb-app keeps the name it was run by.
    if (git) argv[0] = path;
    execv(path, argv);
    fprintf(stderr, "wb: cannot run %s (%s); build it with `swift build --product %s` (scripts/open and scripts/test do)\n",
            path, strerror(errno), name);
    return 127;
}
