/*  test_ident.c -- node keys and generations on disk, record signatures. */
#include "ident.h"
#include "tap.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[256];   /* our scratch directory */
static char state[512]; /* the state dir, below parents we do not make */
static char key_path[600], gen_path[600];

static void put_file (const char *path, const void *data, size_t len, mode_t mode)
{
    unlink (path);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK (fd >= 0);
    if (fd < 0)
        return;
    CHECK_EQ (write (fd, data, len), (long long) len);
    close (fd);
    chmod (path, mode);
}

/* The file's contents, NUL-terminated, into buf; returns its length. */
static long get_file (const char *path, void *buf, size_t size)
{
    int fd = open (path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = (long) read (fd, buf, size - 1);
    close (fd);
    if (n >= 0)
        ((char *) buf)[n] = '\0';
    return n;
}

static uint64_t gen_on_disk (void)
{
    char text[64];
    if (get_file (gen_path, text, sizeof text) <= 0)
        return 0;
    return strtoull (text, NULL, 10);
}

/* Open must fail, with a message that names `file`. */
static void refused (uint64_t now_ms, const char *file)
{
    char err[512] = "";
    gl_ident_t *id = gl_ident_open (state, now_ms, err, sizeof err);
    CHECK (id == NULL);
    CHECK (strstr (err, file) != NULL);
    if (!strstr (err, file))
        fprintf (stderr, "  message was: %s\n", err);
    gl_ident_destroy (&id);
}

static void test_create_and_reopen (void)
{
    char err[512] = "";
    uint8_t pub[GL_PUBKEY_BYTES];

    /* First start: directories, key and generation appear. */
    gl_ident_t *id = gl_ident_open (state, 5000000, err, sizeof err);
    CHECK (id != NULL);
    if (!id) {
        fprintf (stderr, "  %s\n", err);
        return;
    }
    CHECK_EQ (gl_ident_generation (id), 5000); /* seconds since the epoch */
    memcpy (pub, gl_ident_pubkey (id), sizeof pub);
    gl_ident_destroy (&id);
    CHECK (id == NULL);

    struct stat st;
    CHECK_EQ (stat (state, &st), 0);
    CHECK (S_ISDIR (st.st_mode));
    CHECK_EQ (st.st_mode & 0777, 0700);
    CHECK_EQ (stat (key_path, &st), 0);
    CHECK_EQ (st.st_mode & 0777, 0600);
    CHECK_EQ (st.st_size, 64);
    char text[64];
    CHECK_EQ (get_file (gen_path, text, sizeof text), 5);
    CHECK (strcmp (text, "5000\n") == 0);

    /* Nothing else is left behind: no temporaries. */
    DIR *dir = opendir (state);
    struct dirent *de;
    int others = 0;
    while (dir && (de = readdir (dir)))
        if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..") &&
            strcmp (de->d_name, "node.key") && strcmp (de->d_name, "generation"))
            others++;
    if (dir)
        closedir (dir);
    CHECK_EQ (others, 0);

    /* Restart at the same time: same key, next generation. */
    id = gl_ident_open (state, 5000000, err, sizeof err);
    CHECK (id != NULL);
    if (!id)
        return;
    CHECK_EQ (gl_ident_generation (id), 5001);
    CHECK (memcmp (gl_ident_pubkey (id), pub, sizeof pub) == 0);
    gl_ident_destroy (&id);
    CHECK_EQ (gen_on_disk (), 5001);

    /* With a clock that went backwards, still the next generation. */
    id = gl_ident_open (state, 0, NULL, 0);
    CHECK (id && gl_ident_generation (id) == 5002);
    gl_ident_destroy (&id);

    /* Much later: the clock wins. */
    id = gl_ident_open (state, 1700000000123ull, err, sizeof err);
    CHECK (id && gl_ident_generation (id) == 1700000000);
    CHECK (id && memcmp (gl_ident_pubkey (id), pub, sizeof pub) == 0);
    gl_ident_destroy (&id);
    CHECK_EQ (gen_on_disk (), 1700000000);

    /* A trailing slash is the same directory. */
    char slashed[600];
    snprintf (slashed, sizeof slashed, "%s/", state);
    id = gl_ident_open (slashed, 0, err, sizeof err);
    CHECK (id && gl_ident_generation (id) == 1700000001);
    CHECK (id && memcmp (gl_ident_pubkey (id), pub, sizeof pub) == 0);
    gl_ident_destroy (&id);

    /* Another state dir is another node. */
    char other[600];
    snprintf (other, sizeof other, "%s/other", top);
    id = gl_ident_open (other, 0, err, sizeof err);
    CHECK (id && gl_ident_generation (id) == 1);
    CHECK (id && memcmp (gl_ident_pubkey (id), pub, sizeof pub) != 0);
    gl_ident_destroy (&id);
}

static void test_bad_key_file (void)
{
    uint8_t good[65]; /* the key, and room to see it is no longer */
    CHECK_EQ (get_file (key_path, good, sizeof good), 64);
    uint64_t gen = gen_on_disk ();

    /* Readable, or writable, by group or others. */
    static const mode_t loose[] = { 0640, 0604, 0620, 0602, 0660, 0644 };
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        chmod (key_path, loose[i]);
        refused (0, key_path);
    }
    chmod (key_path, 0600);

    /* Not ours. */
    if (geteuid () == 0) {
        CHECK_EQ (chown (key_path, 65534, 65534), 0);
        refused (0, key_path);
        CHECK_EQ (chown (key_path, 0, 0), 0);
    }

    /* A refused start does not count as a start. */
    CHECK_EQ (gen_on_disk (), gen);

    /* Wrong sizes. */
    uint8_t buf[65];
    memcpy (buf, good, 64);
    buf[64] = 0;
    put_file (key_path, buf, 63, 0600);
    refused (0, key_path);
    put_file (key_path, buf, 65, 0600);
    refused (0, key_path);
    put_file (key_path, buf, 0, 0600);
    refused (0, key_path);

    /* Right size, but the public half is not the seed's. */
    buf[40] ^= 1;
    put_file (key_path, buf, 64, 0600);
    refused (0, key_path);

    /* Not a regular file, and not through a symbolic link. */
    unlink (key_path);
    CHECK_EQ (mkdir (key_path, 0700), 0);
    refused (0, key_path);
    rmdir (key_path);
    char real[700];
    snprintf (real, sizeof real, "%s/real.key", top);
    put_file (real, good, 64, 0600);
    CHECK_EQ (symlink (real, key_path), 0);
    refused (0, key_path);
    unlink (key_path);
    unlink (real);

    CHECK_EQ (gen_on_disk (), gen);

    /* Put back, it works again. */
    put_file (key_path, good, 64, 0600);
    gl_ident_t *id = gl_ident_open (state, 0, NULL, 0);
    CHECK (id != NULL);
    CHECK (id && memcmp (gl_ident_pubkey (id), good + 32, 32) == 0);
    CHECK (id && gl_ident_generation (id) == gen + 1);
    gl_ident_destroy (&id);
}

static void test_bad_generation (void)
{
    static const char *garbage[] = {
        "",
        "\n",
        "abc\n",
        "12x\n",
        "-5\n",
        "+5\n",
        " 12\n",
        "0x10\n",
        "1 2\n",
        "18446744073709551616\n", /* 2^64 */
        "99999999999999999999999999999999999999\n",
        "18446744073709551615\n", /* cannot grow */
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        put_file (gen_path, garbage[i], strlen (garbage[i]), 0600);
        refused (0, gen_path);
        /* The file is left as it was, for a human to look at. */
        char text[64];
        CHECK_EQ (get_file (gen_path, text, sizeof text), (long) strlen (garbage[i]));
    }
    /* A NUL in the middle. */
    put_file (gen_path,
              "12\0"
              "3\n",
              5, 0600);
    refused (0, gen_path);

    /* Accepted forms: with or without a newline, with trailing spaces. */
    static const char *fine[] = { "41", "41\n", "41 \r\n", "0000041\n" };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        put_file (gen_path, fine[i], strlen (fine[i]), 0600);
        gl_ident_t *id = gl_ident_open (state, 0, NULL, 0);
        CHECK (id && gl_ident_generation (id) == 42);
        gl_ident_destroy (&id);
        CHECK_EQ (gen_on_disk (), 42);
    }
}

static void test_bad_state_dir (void)
{
    char path[700], err[512];
    snprintf (path, sizeof path, "%s/plain-file", top);
    put_file (path, "x", 1, 0600);
    gl_ident_t *id = gl_ident_open (path, 0, err, sizeof err);
    CHECK (id == NULL);
    CHECK (strstr (err, path) != NULL);

    snprintf (path, sizeof path, "%s/plain-file/below", top);
    id = gl_ident_open (path, 0, err, sizeof err);
    CHECK (id == NULL);
    CHECK (strstr (err, "plain-file") != NULL);

    /* A short error buffer is cut, not overrun. */
    char small[8];
    memset (small, 'z', sizeof small);
    id = gl_ident_open (path, 0, small, 4);
    CHECK (id == NULL);
    CHECK_EQ (strlen (small), 3);
    CHECK_EQ (small[4], 'z');

    id = gl_ident_open ("", 0, err, sizeof err);
    CHECK (id == NULL);
}

static void fill_record (gl_rec_t *rec, const uint8_t *pubkey)
{
    memset (rec, 0, sizeof *rec);
    rec->kind = GL_REC_ALIVE;
    strcpy (rec->origin, "node-1.example");
    rec->generation = 1700000000;
    rec->seq = 7;
    rec->time_ms = 1700000000123ull;
    strcpy (rec->addr, "tcp://10.0.0.1:7946");
    memcpy (rec->pubkey, pubkey, GL_PUBKEY_BYTES);
    rec->res.cores = 8;
    rec->res.load1_milli = 1500;
    rec->res.load_recent_milli = 1200;
    rec->res.owner_load_milli = 300;
    rec->res.mem_total_kb = 16u << 20;
    rec->res.mem_avail_kb = 8u << 20;
    rec->res.owner_idle_s = 600;
    rec->res.state = GL_RES_IDLE;
}

/* Each way of altering a signed record, one field at a time. */
static void alter (gl_rec_t *rec, int field)
{
    switch (field) {
        case 0: rec->kind = GL_REC_RES; break;
        case 1: rec->origin[0] = 'm'; break;
        case 2: strcat (rec->origin, "x"); break;
        case 3: rec->generation++; break;
        case 4: rec->seq++; break;
        case 5: rec->time_ms--; break;
        case 6: rec->addr[6] = '9'; break;
        case 7: rec->addr[0] = '\0'; break;
        case 8: rec->pubkey[31] ^= 0x80; break;
        case 9: rec->res.cores = 64; break;
        case 10: rec->res.load1_milli = 0; break;
        case 11: rec->res.load_recent_milli = 0; break;
        case 12: rec->res.owner_load_milli = 0; break;
        case 13: rec->res.mem_total_kb++; break;
        case 14: rec->res.mem_avail_kb++; break;
        case 15: rec->res.owner_idle_s = 0; break;
        case 16: rec->res.state = GL_RES_BUSY; break;
        case 17: rec->sig[0] ^= 1; break;
        case 18: rec->sig[63] ^= 0x40; break;
    }
}
#define N_ALTERATIONS 19

static void test_sign_verify (void)
{
    uint8_t seed_a[32], seed_b[32];
    memset (seed_a, 0xa5, sizeof seed_a);
    memset (seed_b, 0x5a, sizeof seed_b);
    gl_ident_t *a = gl_ident_new_ephemeral (12, seed_a);
    gl_ident_t *a2 = gl_ident_new_ephemeral (13, seed_a);
    gl_ident_t *b = gl_ident_new_ephemeral (12, seed_b);
    gl_ident_t *r = gl_ident_new_ephemeral (1, NULL);
    CHECK (a && a2 && b && r);
    if (!a || !a2 || !b || !r)
        return;
    CHECK_EQ (gl_ident_generation (a), 12);
    CHECK_EQ (gl_ident_generation (a2), 13);
    CHECK (memcmp (gl_ident_pubkey (a), gl_ident_pubkey (a2), 32) == 0);
    CHECK (memcmp (gl_ident_pubkey (a), gl_ident_pubkey (b), 32) != 0);
    CHECK (memcmp (gl_ident_pubkey (a), gl_ident_pubkey (r), 32) != 0);

    gl_rec_t rec;
    fill_record (&rec, gl_ident_pubkey (a));
    CHECK_EQ (gl_ident_sign (a, &rec), 0);
    CHECK_EQ (gl_rec_verify (&rec, gl_ident_pubkey (a)), 0);
    CHECK_EQ (gl_rec_verify (&rec, gl_ident_pubkey (a2)), 0); /* same seed */
    CHECK_EQ (gl_rec_verify (&rec, gl_ident_pubkey (b)), -1);

    /* Any field altered after signing. */
    for (int f = 0; f < N_ALTERATIONS; f++) {
        gl_rec_t bad = rec;
        alter (&bad, f);
        CHECK (memcmp (&bad, &rec, sizeof rec) != 0);
        if (gl_rec_verify (&bad, gl_ident_pubkey (a)) != -1) {
            tap_fail_++;
            fprintf (stderr, "alteration %d still verifies\n", f);
        }
        else
            tap_pass_++;
    }

    /* Signed by someone else, carrying a's key. */
    gl_rec_t forged;
    fill_record (&forged, gl_ident_pubkey (a));
    CHECK_EQ (gl_ident_sign (b, &forged), 0);
    CHECK_EQ (gl_rec_verify (&forged, gl_ident_pubkey (a)), -1);
    CHECK_EQ (gl_rec_verify (&forged, gl_ident_pubkey (b)), 0);
    /* a's signature pasted on b's record does not carry over. */
    memcpy (forged.sig, rec.sig, GL_SIG_BYTES);
    forged.seq = 8;
    CHECK_EQ (gl_rec_verify (&forged, gl_ident_pubkey (a)), -1);

    /* Other kinds sign too. */
    gl_rec_t leave;
    memset (&leave, 0, sizeof leave);
    leave.kind = GL_REC_LEAVE;
    strcpy (leave.origin, "node-1.example");
    leave.generation = 12;
    leave.seq = 9;
    CHECK_EQ (gl_ident_sign (a, &leave), 0);
    CHECK_EQ (gl_rec_verify (&leave, gl_ident_pubkey (a)), 0);
    leave.kind = GL_REC_ALIVE;
    CHECK_EQ (gl_rec_verify (&leave, gl_ident_pubkey (a)), -1);

    /* A record the codec refuses cannot be signed or verified. */
    gl_rec_t junk = rec;
    junk.kind = 0;
    CHECK_EQ (gl_ident_sign (a, &junk), -1);
    CHECK_EQ (gl_rec_verify (&junk, gl_ident_pubkey (a)), -1);

    /* The file key signs like an ephemeral one. */
    gl_ident_t *f = gl_ident_open (state, 0, NULL, 0);
    CHECK (f != NULL);
    if (f) {
        fill_record (&rec, gl_ident_pubkey (f));
        CHECK_EQ (gl_ident_sign (f, &rec), 0);
        CHECK_EQ (gl_rec_verify (&rec, gl_ident_pubkey (f)), 0);
        CHECK_EQ (gl_rec_verify (&rec, gl_ident_pubkey (a)), -1);
    }
    gl_ident_destroy (&f);
    gl_ident_destroy (&a);
    gl_ident_destroy (&a2);
    gl_ident_destroy (&b);
    gl_ident_destroy (&r);
    gl_ident_destroy (&r); /* harmless twice */
}

/* rm -r of our scratch directory: a few known levels, nothing else. */
static void remove_tree (const char *path)
{
    DIR *dir = opendir (path);
    if (!dir) {
        unlink (path);
        return;
    }
    struct dirent *de;
    while ((de = readdir (dir))) {
        if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
            continue;
        char child[1024];
        snprintf (child, sizeof child, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat (child, &st) == 0 && S_ISDIR (st.st_mode))
            remove_tree (child);
        else
            unlink (child);
    }
    closedir (dir);
    rmdir (path);
}

int main (void)
{
    const char *tmp = getenv ("TMPDIR");
    snprintf (top, sizeof top, "%s/test_ident.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (top)) {
        perror (top);
        return 1;
    }
    snprintf (state, sizeof state, "%s/var/lib/glunix", top);
    snprintf (key_path, sizeof key_path, "%s/node.key", state);
    snprintf (gen_path, sizeof gen_path, "%s/generation", state);

    test_create_and_reopen ();
    test_bad_key_file ();
    test_bad_generation ();
    test_bad_state_dir ();
    test_sign_verify ();

    remove_tree (top);
    return tap_done ("ident");
}
