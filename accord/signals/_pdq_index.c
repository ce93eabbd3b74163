/* Multi-index hashing over 256-bit PDQ hashes: the hot loops of accord.signals.pdq_index.
 *
 * Why C: a single-hash query must cost tens of microseconds; NumPy's per-call overhead alone is that much.
 *
 * Layout. Each hash lives in a slot (4 x uint64 words + its int64 id). The 256 bits are cut into 16 chunks
 * of 16 bits; table c maps each of the 65,536 values of chunk c to a growable array of slots (a bucket).
 * By pigeonhole, a hash within distance t of the query has at least one chunk within r = t / 16 of the
 * query's chunk, so probing, in every table, the buckets within r of the query's chunk and verifying each
 * candidate with four popcounts finds every match (exact recall). A match is kept only from the first
 * chunk that can reach it, so nothing is reported twice. Past a radius where probing costs more than
 * reading everything, the caller asks for a full scan instead (same result, different cost).
 *
 * Add/remove are incremental: a removed slot leaves its buckets (swap with the bucket's last item) and
 * goes on a free list that the next add reuses, so there are no tombstones to compact. An open-addressing
 * map turns an id into its slot. The GIL is held throughout, which is what makes concurrent Python
 * callers safe; a batch is one C loop, single-threaded.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNKS 16
#define BUCKETS 65536
#define WORDS 4
#define EMPTY_SLOT UINT32_MAX

/* A bucket keeps, next to each slot, two of the hash's four words (the two after the chunk's own word): a
 * popcount over those 128 bits rejects nearly every random candidate (its distance there is 64 +- 6, over
 * any useful threshold) without touching the slot's words, so a probe reads buckets sequentially and goes
 * to memory at random only for near matches. This costs 16 bytes per hash per table and is what makes a
 * single query take microseconds rather than a cache miss per candidate (measured: docs/matching.md). */
typedef struct {
    uint64_t *sketch; /* 2 words per item */
    uint32_t *items;
    uint32_t len, cap;
} Bucket;

typedef struct {
    PyObject_HEAD
    uint64_t *words;      /* n_slots * WORDS */
    int64_t *ids;         /* n_slots */
    uint8_t *live;        /* n_slots: 1 when the slot holds a hash */
    uint32_t n_slots, slot_cap, count;
    uint32_t *free_slots; /* slots freed by remove, reused by add */
    uint32_t n_free, free_cap;
    Bucket *tables;       /* CHUNKS * BUCKETS */
    /* id -> slot: linear probing; map_slot EMPTY_SLOT = empty, DELETED = removed (a tombstone for probing) */
    int64_t *map_keys;
    uint32_t *map_slot;
    size_t map_cap, map_used; /* map_used counts live keys and tombstones */
} Index;

#define DELETED (UINT32_MAX - 1)

/* The 16-bit masks ordered by popcount: the first mask_upto[r] flip at most r bits. */
static uint16_t masks[BUCKETS];
static uint32_t mask_upto[17];

static inline int popcount64(uint64_t x) { return __builtin_popcountll(x); }

static inline int distance(const uint64_t *a, const uint64_t *b) {
    return popcount64(a[0] ^ b[0]) + popcount64(a[1] ^ b[1]) + popcount64(a[2] ^ b[2]) + popcount64(a[3] ^ b[3]);
}

static inline uint32_t chunk_of(const uint64_t *w, int c) { return (uint32_t)((w[c >> 2] >> ((c & 3) * 16)) & 0xFFFF); }

static inline uint64_t mix(int64_t key) { /* splitmix64 finaliser */
    uint64_t z = (uint64_t)key + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ---- id map ---- */

static size_t map_find(const Index *ix, int64_t key) { /* position of key, or of the empty cell ending its run */
    size_t mask = ix->map_cap - 1, i = mix(key) & mask;
    while (ix->map_slot[i] != EMPTY_SLOT) {
        if (ix->map_slot[i] != DELETED && ix->map_keys[i] == key) return i;
        i = (i + 1) & mask;
    }
    return i;
}

static int map_resize(Index *ix, size_t want_live) {
    size_t cap = 1024;
    while (cap * 3 < want_live * 4 + 4) cap <<= 1; /* load factor <= 0.75 */
    int64_t *keys = malloc(cap * sizeof *keys);
    uint32_t *slots = malloc(cap * sizeof *slots);
    if (!keys || !slots) { free(keys); free(slots); return -1; }
    memset(slots, 0xFF, cap * sizeof *slots);
    int64_t *old_keys = ix->map_keys;
    uint32_t *old_slots = ix->map_slot;
    size_t old_cap = ix->map_cap;
    ix->map_keys = keys; ix->map_slot = slots; ix->map_cap = cap; ix->map_used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old_slots[i] == EMPTY_SLOT || old_slots[i] == DELETED) continue;
        size_t j = map_find(ix, old_keys[i]);
        keys[j] = old_keys[i]; slots[j] = old_slots[i]; ix->map_used++;
    }
    free(old_keys); free(old_slots);
    return 0;
}

static int map_reserve(Index *ix, size_t extra) { /* room for extra more keys without passing 0.75 */
    size_t need = ix->map_used + extra;
    if (ix->map_cap && need * 4 <= ix->map_cap * 3) return 0;
    return map_resize(ix, (size_t)ix->count + extra);
}

/* ---- buckets ---- */

static int bucket_reserve(Bucket *b, uint32_t extra, int exact) {
    uint64_t need = (uint64_t)b->len + extra;
    if (need <= b->cap) return 0;
    uint64_t cap = exact ? need : (need + need / 2 + 4);
    if (cap > UINT32_MAX) return -1;
    uint32_t *items = realloc(b->items, cap * sizeof *items);
    if (!items) return -1;
    b->items = items;
    uint64_t *sketch = realloc(b->sketch, cap * 2 * sizeof *sketch);
    if (!sketch) return -1;
    b->sketch = sketch; b->cap = (uint32_t)cap;
    return 0;
}

static inline int sketch_word(int c, int k) { return ((c >> 2) + 1 + k) & 3; }

static void bucket_push(Bucket *b, int c, uint32_t slot, const uint64_t *w) {
    b->items[b->len] = slot;
    b->sketch[2 * b->len] = w[sketch_word(c, 0)];
    b->sketch[2 * b->len + 1] = w[sketch_word(c, 1)];
    b->len++;
}

static void bucket_drop(Bucket *b, uint32_t slot) {
    for (uint32_t i = 0; i < b->len; i++)
        if (b->items[i] == slot) {
            b->len--;
            b->items[i] = b->items[b->len];
            b->sketch[2 * i] = b->sketch[2 * b->len];
            b->sketch[2 * i + 1] = b->sketch[2 * b->len + 1];
            return;
        }
}

/* ---- slots ---- */

static int slots_reserve(Index *ix, uint32_t extra) {
    uint64_t need = (uint64_t)ix->n_slots + extra;
    if (need <= ix->slot_cap) return 0;
    uint64_t cap = need + need / 4 + 16;
    if (cap >= EMPTY_SLOT - 1) return -1;
    uint64_t *words = realloc(ix->words, cap * WORDS * sizeof *words);
    if (!words) return -1;
    ix->words = words;
    int64_t *ids = realloc(ix->ids, cap * sizeof *ids);
    if (!ids) return -1;
    ix->ids = ids;
    uint8_t *live = realloc(ix->live, cap);
    if (!live) return -1;
    ix->live = live;
    ix->slot_cap = (uint32_t)cap;
    return 0;
}

static void remove_slot(Index *ix, size_t map_pos) {
    uint32_t slot = ix->map_slot[map_pos];
    const uint64_t *w = ix->words + (size_t)slot * WORDS;
    for (int c = 0; c < CHUNKS; c++) bucket_drop(&ix->tables[(size_t)c * BUCKETS + chunk_of(w, c)], slot);
    ix->map_slot[map_pos] = DELETED;
    ix->live[slot] = 0;
    ix->free_slots[ix->n_free++] = slot; /* free_cap >= slot_cap, reserved at add */
    ix->count--;
}

/* ---- Python type ---- */

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->len % itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes is not a whole number of %zd-byte items", what, view->len, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *Index_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    (void)args, (void)kw;
    Index *ix = (Index *)type->tp_alloc(type, 0);
    if (!ix) return NULL;
    ix->tables = calloc((size_t)CHUNKS * BUCKETS, sizeof(Bucket));
    if (!ix->tables || map_resize(ix, 0) < 0) { Py_DECREF(ix); return PyErr_NoMemory(); }
    return (PyObject *)ix;
}

static void Index_dealloc(Index *ix) {
    if (ix->tables)
        for (size_t i = 0; i < (size_t)CHUNKS * BUCKETS; i++) {
            free(ix->tables[i].items);
            free(ix->tables[i].sketch);
        }
    free(ix->tables); free(ix->words); free(ix->ids); free(ix->live); free(ix->free_slots);
    free(ix->map_keys); free(ix->map_slot);
    Py_TYPE(ix)->tp_free((PyObject *)ix);
}

static Py_ssize_t Index_len(Index *ix) { return ix->count; }

/* A bulk load's bucket appends, one table at a time. Pushing each hash into its 16 buckets in turn spreads
 * the writes over a million buckets (16 tables x 65,536), each push missing the cache several times over, and
 * made loading 10M hashes take half a minute; one table at a time, the writes go to 65,536 append points
 * whose headers and open cache lines stay in cache, and the hashes are read sequentially. */
static void bulk_fill(Index *ix, size_t n, const uint32_t *slot_of) {
    for (int c = 0; c < CHUNKS; c++) {
        Bucket *table = ix->tables + (size_t)c * BUCKETS;
        for (size_t i = 0; i < n; i++) {
            const uint64_t *w = ix->words + (size_t)slot_of[i] * WORDS;
            bucket_push(&table[chunk_of(w, c)], c, slot_of[i], w);
        }
    }
}

/* add(ids: int64 buffer, hashes: n*32 bytes). The caller guarantees ids are unique within the call.
 * Every allocation happens before the first change, so a MemoryError leaves the index as it was. */
static PyObject *Index_add(Index *ix, PyObject *args) {
    PyObject *ids_obj, *hashes_obj;
    if (!PyArg_ParseTuple(args, "OO", &ids_obj, &hashes_obj)) return NULL;
    Py_buffer idv, hv;
    if (get_buffer(ids_obj, &idv, 8, "ids") < 0) return NULL;
    if (get_buffer(hashes_obj, &hv, 32, "hashes") < 0) { PyBuffer_Release(&idv); return NULL; }
    PyObject *result = NULL;
    size_t n = (size_t)idv.len / 8;
    const int64_t *ids = idv.buf;
    const uint8_t *bytes = hv.buf;
    uint32_t *counts = NULL, *slot_of = NULL;
    if ((size_t)hv.len / 32 != n) { PyErr_SetString(PyExc_ValueError, "ids and hashes differ in length"); goto done; }
    if (n > (size_t)(EMPTY_SLOT - 2) - ix->count) { PyErr_SetString(PyExc_OverflowError, "index full"); goto done; }
    /* Replaced ids free their slots first, so reserving n new slots is always enough. */
    if (slots_reserve(ix, (uint32_t)n) < 0 || map_reserve(ix, n) < 0) { PyErr_NoMemory(); goto done; }
    if (ix->free_cap < ix->slot_cap) {
        uint32_t *fs = realloc(ix->free_slots, (size_t)ix->slot_cap * sizeof *fs);
        if (!fs) { PyErr_NoMemory(); goto done; }
        ix->free_slots = fs; ix->free_cap = ix->slot_cap;
    }
    if (n <= 64) { /* a few hashes: room for all of them in each bucket they touch (buckets grow by half) */
        for (size_t i = 0; i < n; i++) {
            uint64_t w[WORDS];
            memcpy(w, bytes + i * 32, 32);
            for (int c = 0; c < CHUNKS; c++)
                if (bucket_reserve(&ix->tables[(size_t)c * BUCKETS + chunk_of(w, c)], (uint32_t)n, 0) < 0) {
                    PyErr_NoMemory();
                    goto done;
                }
        }
    } else { /* a bulk load: count the new items per bucket and grow each bucket once, exactly */
        counts = calloc((size_t)CHUNKS * BUCKETS, sizeof *counts);
        if (!counts) { PyErr_NoMemory(); goto done; }
        for (size_t i = 0; i < n; i++) {
            uint64_t w[WORDS];
            memcpy(w, bytes + i * 32, 32);
            for (int c = 0; c < CHUNKS; c++) counts[(size_t)c * BUCKETS + chunk_of(w, c)]++;
        }
        for (size_t b = 0; b < (size_t)CHUNKS * BUCKETS; b++)
            if (counts[b] && bucket_reserve(&ix->tables[b], counts[b], 1) < 0) { PyErr_NoMemory(); goto done; }
        slot_of = malloc(n * sizeof *slot_of);
        if (!slot_of) { PyErr_NoMemory(); goto done; }
    }
    for (size_t i = 0; i < n; i++) {
        size_t pos = map_find(ix, ids[i]);
        if (ix->map_slot[pos] != EMPTY_SLOT) remove_slot(ix, pos); /* replace: the cell becomes a tombstone */
        uint32_t slot = ix->n_free ? ix->free_slots[--ix->n_free] : ix->n_slots++;
        uint64_t *w = ix->words + (size_t)slot * WORDS;
        memcpy(w, bytes + i * 32, 32);
        ix->ids[slot] = ids[i];
        ix->live[slot] = 1;
        /* reserved above: a replaced slot only shrank its buckets */
        if (counts) slot_of[i] = slot; /* a bulk load fills the buckets below, table by table */
        else
            for (int c = 0; c < CHUNKS; c++) bucket_push(&ix->tables[(size_t)c * BUCKETS + chunk_of(w, c)], c, slot, w);
        pos = map_find(ix, ids[i]);
        if (ix->map_slot[pos] == EMPTY_SLOT) ix->map_used++;
        ix->map_keys[pos] = ids[i];
        ix->map_slot[pos] = slot;
        ix->count++;
    }
    if (counts) bulk_fill(ix, n, slot_of);
    result = Py_NewRef(Py_None);
done:
    free(counts); free(slot_of);
    PyBuffer_Release(&idv);
    PyBuffer_Release(&hv);
    return result;
}

static PyObject *Index_remove(Index *ix, PyObject *arg) {
    Py_buffer idv;
    if (get_buffer(arg, &idv, 8, "ids") < 0) return NULL;
    const int64_t *ids = idv.buf;
    Py_ssize_t removed = 0;
    for (Py_ssize_t i = 0; i < idv.len / 8; i++) {
        size_t pos = map_find(ix, ids[i]);
        if (ix->map_slot[pos] == EMPTY_SLOT) continue;
        remove_slot(ix, pos);
        removed++;
    }
    PyBuffer_Release(&idv);
    return PyLong_FromSsize_t(removed);
}

/* Growable (distance, id) list: the matches of one batch, query after query. */
typedef struct {
    int64_t *ids;
    int32_t *dist;
    size_t len, cap;
} Hits;

static int hits_push(Hits *h, int64_t id, int32_t d) {
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        int64_t *ids = realloc(h->ids, cap * sizeof *ids);
        if (!ids) return -1;
        h->ids = ids;
        int32_t *dist = realloc(h->dist, cap * sizeof *dist);
        if (!dist) return -1;
        h->dist = dist; h->cap = cap;
    }
    h->ids[h->len] = id; h->dist[h->len] = d; h->len++;
    return 0;
}

/* Order one query's matches by (distance, id): insertion sort for the usual handful, else counting sort on
 * distance (0..256) followed by sorting ids within each distance. */
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int sort_hits(Hits *h, size_t from) {
    size_t n = h->len - from;
    int64_t *ids = h->ids + from;
    int32_t *dist = h->dist + from;
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            int64_t id = ids[i]; int32_t d = dist[i]; size_t j = i;
            while (j > 0 && (dist[j - 1] > d || (dist[j - 1] == d && ids[j - 1] > id))) {
                ids[j] = ids[j - 1]; dist[j] = dist[j - 1]; j--;
            }
            ids[j] = id; dist[j] = d;
        }
        return 0;
    }
    size_t start[258] = {0};
    for (size_t i = 0; i < n; i++) start[dist[i] + 1]++;
    for (int d = 0; d < 257; d++) start[d + 1] += start[d];
    int64_t *sorted = malloc(n * sizeof *sorted);
    if (!sorted) return -1;
    size_t fill[257];
    memcpy(fill, start, sizeof fill);
    for (size_t i = 0; i < n; i++) sorted[fill[dist[i]]++] = ids[i];
    for (int d = 0; d < 257; d++) {
        size_t a = start[d], b = start[d + 1];
        if (b - a > 1) qsort(sorted + a, b - a, sizeof *sorted, cmp_i64);
        for (size_t i = a; i < b; i++) dist[i] = d;
    }
    memcpy(ids, sorted, n * sizeof *sorted);
    free(sorted);
    return 0;
}

/* The probes (chunk c, flip mask k) are visited as one sequence j = c * P + k so that the bucket header
 * AHEAD_HEAD probes ahead and the sketch of the one AHEAD_DATA ahead can be prefetched: each probe is a
 * random bucket, and with a million hashes the probe loop otherwise waits on two dependent cache misses. */
#define AHEAD_HEAD 16
#define AHEAD_DATA 8

static inline const Bucket *probe_at(const Index *ix, const uint32_t *qc, uint32_t probes, size_t j) {
    size_t c = j / probes;
    return ix->tables + c * BUCKETS + (qc[c] ^ masks[j % probes]);
}

static int search_mih(const Index *ix, const uint64_t *q, int t, Hits *h) {
    int r = t / CHUNKS;
    uint32_t qc[CHUNKS];
    for (int c = 0; c < CHUNKS; c++) qc[c] = chunk_of(q, c);
    uint32_t probes = mask_upto[r];
    size_t total = (size_t)CHUNKS * probes;
    for (size_t j = 0; j < total; j++) {
        if (j + AHEAD_HEAD < total) __builtin_prefetch(probe_at(ix, qc, probes, j + AHEAD_HEAD));
        if (j + AHEAD_DATA < total) {
            const Bucket *next = probe_at(ix, qc, probes, j + AHEAD_DATA);
            for (uint32_t line = 0; line < next->len && line < 32; line += 4) __builtin_prefetch(next->sketch + 2 * line);
            if (next->len) __builtin_prefetch(next->items);
        }
        int c = (int)(j / probes);
        const Bucket *b = probe_at(ix, qc, probes, j);
        uint64_t s0 = q[sketch_word(c, 0)], s1 = q[sketch_word(c, 1)];
        for (uint32_t i = 0; i < b->len; i++) {
            if (popcount64(b->sketch[2 * i] ^ s0) + popcount64(b->sketch[2 * i + 1] ^ s1) > t) continue;
            uint32_t slot = b->items[i];
            const uint64_t *w = ix->words + (size_t)slot * WORDS;
            int d = distance(q, w);
            if (d > t) continue;
            /* Reported once: skip it here if an earlier chunk also lies within r (that chunk found it). */
            int earlier = 0;
            for (int e = 0; e < c && !earlier; e++) earlier = __builtin_popcount(chunk_of(w, e) ^ qc[e]) <= r;
            if (!earlier && hits_push(h, ix->ids[slot], d) < 0) return -1;
        }
    }
    return 0;
}

static int search_scan(const Index *ix, const uint64_t *q, int t, Hits *h) {
    for (uint32_t s = 0; s < ix->n_slots; s++) {
        int d = distance(q, ix->words + (size_t)s * WORDS);
        if (d <= t && ix->live[s] && hits_push(h, ix->ids[s], d) < 0) return -1;
    }
    return 0;
}

/* search(queries: q*32 bytes, threshold, scan: bool) -> (offsets int64[q+1], ids int64[], distances int32[]) */
static PyObject *Index_search(Index *ix, PyObject *args) {
    PyObject *qobj;
    int t, scan;
    if (!PyArg_ParseTuple(args, "Oip", &qobj, &t, &scan)) return NULL;
    if (t < 0 || t > 256) { PyErr_SetString(PyExc_ValueError, "threshold outside 0..256"); return NULL; }
    Py_buffer qv;
    if (get_buffer(qobj, &qv, 32, "queries") < 0) return NULL;
    size_t nq = (size_t)qv.len / 32;
    PyObject *result = NULL, *offsets = NULL;
    Hits h = {0};
    offsets = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((nq + 1) * sizeof(int64_t)));
    if (!offsets) goto done;
    int64_t *off = (int64_t *)PyBytes_AS_STRING(offsets);
    off[0] = 0;
    for (size_t i = 0; i < nq; i++) {
        uint64_t q[WORDS];
        memcpy(q, (const uint8_t *)qv.buf + i * 32, 32);
        size_t from = h.len;
        if ((scan ? search_scan(ix, q, t, &h) : search_mih(ix, q, t, &h)) < 0 || sort_hits(&h, from) < 0) {
            PyErr_NoMemory();
            goto done;
        }
        off[i + 1] = (int64_t)h.len;
    }
    /* y# turns a NULL pointer into None: an empty result is an empty bytes */
    result = Py_BuildValue("(Oy#y#)", offsets, h.len ? (const char *)h.ids : "", (Py_ssize_t)(h.len * sizeof(int64_t)),
                           h.len ? (const char *)h.dist : "", (Py_ssize_t)(h.len * sizeof(int32_t)));
done:
    Py_XDECREF(offsets);
    free(h.ids); free(h.dist);
    PyBuffer_Release(&qv);
    return result;
}

/* export() -> (ids int64[count], hashes uint8[count*32]) of the live slots, in slot order. */
static PyObject *Index_export(Index *ix, PyObject *unused) {
    (void)unused;
    PyObject *ids = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)ix->count * 8);
    PyObject *hashes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)ix->count * 32);
    if (!ids || !hashes) { Py_XDECREF(ids); Py_XDECREF(hashes); return NULL; }
    int64_t *out_ids = (int64_t *)PyBytes_AS_STRING(ids);
    uint8_t *out_hashes = (uint8_t *)PyBytes_AS_STRING(hashes);
    size_t k = 0;
    for (uint32_t s = 0; s < ix->n_slots; s++) {
        if (!ix->live[s]) continue;
        out_ids[k] = ix->ids[s];
        memcpy(out_hashes + k * 32, ix->words + (size_t)s * WORDS, 32);
        k++;
    }
    return Py_BuildValue("(NN)", ids, hashes);
}

static PyMethodDef Index_methods[] = {
    {"add", (PyCFunction)Index_add, METH_VARARGS, "add(ids, hashes): int64 ids and n*32 hash bytes; ids replace"},
    {"remove", (PyCFunction)Index_remove, METH_O, "remove(ids) -> how many were present"},
    {"search", (PyCFunction)Index_search, METH_VARARGS, "search(queries, threshold, scan) -> (offsets, ids, dists)"},
    {"export", (PyCFunction)Index_export, METH_NOARGS, "export() -> (ids, hashes) of every live entry"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Index_as_sequence = {.sq_length = (lenfunc)Index_len};

static PyTypeObject IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "accord.signals._pdq_index.Index",
    .tp_basicsize = sizeof(Index),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Multi-index hashing table of 256-bit hashes (see accord.signals.pdq_index)",
    .tp_new = Index_new,
    .tp_dealloc = (destructor)Index_dealloc,
    .tp_methods = Index_methods,
    .tp_as_sequence = &Index_as_sequence,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_pdq_index", .m_doc = "C core of accord.signals.pdq_index", .m_size = -1,
};

PyMODINIT_FUNC PyInit__pdq_index(void) {
    uint32_t k = 0;
    for (int r = 0; r <= 16; r++) {
        for (uint32_t m = 0; m < BUCKETS; m++)
            if (__builtin_popcount(m) == r) masks[k++] = (uint16_t)m;
        mask_upto[r] = k;
    }
    if (PyType_Ready(&IndexType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Index", (PyObject *)&IndexType) < 0) { Py_DECREF(m); return NULL; }
    if (PyModule_AddIntConstant(m, "CHUNKS", CHUNKS) < 0) { Py_DECREF(m); return NULL; }
    return m;
}
