#include "csharedword.h"
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WB_PAGE 4096

int wb_shared_word_supported(void) {
#if defined(ATOMIC_LLONG_LOCK_FREE) && ATOMIC_LLONG_LOCK_FREE == 2
    return sizeof(unsigned long long) == 8;
#else
    return 0;
#endif
}

int wb_shared_word_open(const char *path, int create, wb_shared_word *out) {
    out->base = NULL;
    out->fd = -1;
    if (!wb_shared_word_supported()) return ENOTSUP;
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
    if (fd < 0) return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int error = errno;
        close(fd);
        return error;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return EINVAL;
    }
    // Two processes creating the file at once both grow it to the same size; nobody shrinks it.
    if (st.st_size < WB_PAGE && ftruncate(fd, WB_PAGE) != 0) {
        int error = errno;
        close(fd);
        return error;
    }
    void *base = mmap(NULL, WB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int error = errno;
        close(fd);
        return error;
    }
    out->base = base;
    out->fd = fd;
    out->device = (uint64_t)st.st_dev;
    out->inode = (uint64_t)st.st_ino;
    return 0;
}

void wb_shared_word_close(wb_shared_word *word) {
    if (word->base) munmap(word->base, WB_PAGE);
    if (word->fd >= 0) close(word->fd);
    word->base = NULL;
    word->fd = -1;
}

int wb_shared_word_is_at(const wb_shared_word *word, const char *path) {
    struct stat st;
    if (!word->base || stat(path, &st) != 0) return 0;
    return (uint64_t)st.st_dev == word->device && (uint64_t)st.st_ino == word->inode;
}

static _Atomic unsigned long long *slot(const wb_shared_word *word, uint32_t offset) {
    return (_Atomic unsigned long long *)((char *)word->base + (offset & (WB_PAGE - 8)));
}

uint64_t wb_shared_word_load(const wb_shared_word *word, uint32_t offset) {
    return atomic_load_explicit(slot(word, offset), memory_order_seq_cst);
}

uint64_t wb_shared_word_set_low_bit(const wb_shared_word *word, uint32_t offset) {
    unsigned long long before = atomic_fetch_or_explicit(slot(word, offset), 1ULL, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    return before;
}

uint64_t wb_shared_word_advance(const wb_shared_word *word, uint32_t offset) {
    _Atomic unsigned long long *p = slot(word, offset);
    atomic_thread_fence(memory_order_seq_cst);
    unsigned long long old = atomic_load_explicit(p, memory_order_seq_cst);
    unsigned long long next;
    do {
        next = (old | 1ULL) + 1ULL;
    } while (!atomic_compare_exchange_weak_explicit(p, &old, next, memory_order_seq_cst, memory_order_seq_cst));
    return next;
}

void wb_shared_word_fence(void) {
    atomic_thread_fence(memory_order_seq_cst);
}
