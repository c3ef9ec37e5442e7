#ifndef CSHAREDWORD_H
#define CSHAREDWORD_H
#include <stdint.h>

/// One 64-bit word in a file mapped MAP_SHARED, read and changed with C11 atomics (sequentially consistent),
/// so processes mapping the same file see one modification order of the word. Swift's Synchronization
/// `Atomic` cannot be placed on memory it did not allocate; these functions are the whole interface.
typedef struct wb_shared_word {
    /// The mapping (one page), or NULL when closed.
    void *base;
    int fd;
    /// The mapped file's identity.
    uint64_t device;
    uint64_t inode;
} wb_shared_word;

/// Whether a 64-bit atomic is lock-free, hence address-free, on this platform: only then may it sit in
/// memory shared between processes (a lock-based atomic would lock a per-process table). On 32-bit
/// platforms without a 64-bit atomic instruction this is 0, and callers must not use the word.
int wb_shared_word_supported(void);

/// Opens `path` for reading and writing, creating it (mode 0600) when `create` is non-zero, grows it to one
/// page when it is shorter (never shrinks it: a zero-filled page reads 0), and maps that page.
/// Returns 0, or an errno value (nothing is left open).
int wb_shared_word_open(const char *path, int create, wb_shared_word *out);

/// Unmaps and closes (safe on a closed word).
void wb_shared_word_close(wb_shared_word *word);

/// Whether `path` names the mapped file now (same device and inode): 1 yes, 0 no or missing.
int wb_shared_word_is_at(const wb_shared_word *word, const char *path);

/// The word at byte `offset` (a multiple of 8 below the page size).
uint64_t wb_shared_word_load(const wb_shared_word *word, uint32_t offset);

/// Sets bit 0 of the word (`fetch_or`), then a full fence; returns the value before.
uint64_t wb_shared_word_set_low_bit(const wb_shared_word *word, uint32_t offset);

/// Replaces the word `v` with `(v | 1) + 1` in one compare-and-swap loop: bits 1-63 count up by one and
/// bit 0 is cleared, whatever bit 0 was. Returns the new value.
uint64_t wb_shared_word_advance(const wb_shared_word *word, uint32_t offset);

/// A full memory fence.
void wb_shared_word_fence(void);

#endif
