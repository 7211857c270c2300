/*
 * A map from descriptor numbers to table indexes, for backends that keep a
 * per-descriptor table in user space (poll(2), kqueue). Open addressing
 * with linear probing and backward-shift deletion: no tombstones, so it
 * never needs rehashing except when its owner grows it.
 *
 * The owner allocates it with room for twice as many descriptors as its
 * table holds, and rebuilds it when the table grows. Nothing here locks or
 * allocates after cmio__fdmap_init().
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SYS_FDMAP_H
#define CMIO_SYS_FDMAP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct cmio__fdmap {
    int *keys;       /* a descriptor, or -1 for an empty slot */
    uint32_t *vals;  /* the index stored with it */
    size_t mask;     /* number of slots - 1; the number is a power of two */
} cmio__fdmap;

/* Slots for a table of `entries` descriptors: at least twice as many. */
static inline size_t cmio__fdmap_slots(size_t entries)
{
    size_t n = 16;
    while (n < 2 * entries)
        n *= 2;
    return n;
}

/* Returns 0 or -ENOMEM (then *m is untouched). */
static inline int cmio__fdmap_init(cmio__fdmap *m, size_t slots)
{
    int *keys = malloc(slots * sizeof(*keys));
    uint32_t *vals = malloc(slots * sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -ENOMEM;
    }
    for (size_t i = 0; i < slots; i++)
        keys[i] = -1;
    *m = (cmio__fdmap){.keys = keys, .vals = vals, .mask = slots - 1};
    return 0;
}

static inline void cmio__fdmap_free(cmio__fdmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
}

static inline size_t cmio__fdmap_home(const cmio__fdmap *m, int fd)
{
    return (size_t)((uint32_t)fd * 2654435761u) & m->mask;
}

/* The value stored for fd, or NULL. */
static inline uint32_t *cmio__fdmap_find(const cmio__fdmap *m, int fd)
{
    for (size_t i = cmio__fdmap_home(m, fd), n = 0; n <= m->mask; i = (i + 1) & m->mask, n++) {
        if (m->keys[i] == fd)
            return &m->vals[i];
        if (m->keys[i] < 0)
            return NULL;
    }
    return NULL;
}

/* Store fd (not present; the owner keeps the map at most half full). */
static inline void cmio__fdmap_insert(cmio__fdmap *m, int fd, uint32_t val)
{
    size_t i = cmio__fdmap_home(m, fd);
    while (m->keys[i] >= 0)
        i = (i + 1) & m->mask;
    m->keys[i] = fd;
    m->vals[i] = val;
}

/* Remove fd if present; later entries of its probe run move back. */
static inline void cmio__fdmap_remove(cmio__fdmap *m, int fd)
{
    uint32_t *v = cmio__fdmap_find(m, fd);
    if (!v)
        return;
    size_t hole = (size_t)(v - m->vals);
    for (size_t j = (hole + 1) & m->mask; m->keys[j] >= 0; j = (j + 1) & m->mask) {
        size_t home = cmio__fdmap_home(m, m->keys[j]);
        /* The entry at j may fill the hole unless its home lies
         * cyclically in (hole, j]. */
        bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = -1;
}

#endif /* CMIO_SYS_FDMAP_H */
