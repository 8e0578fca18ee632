/*  test_idle.c -- idle-resource detection against a fake proc directory,
    files touched to play an owner at the keyboard, and, briefly, the real
    /proc with a real process spinning as a guest. */

#include "idle.h"
#include "str.h"
#include "clock.h"
#include "tap.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WALL  2000000000ull /* the fake tests' wall clock, in seconds */
#define GUEST 4242          /* the fake guest's pid */

static char root[64]; /* the fake proc directory */
static long hz;       /* clock ticks per second */

/* ---- the fake proc directory ---------------------------------------------- */

static void put (const char *name, const char *fmt, ...)
{
    char path[256];
    snprintf (path, sizeof path, "%s/%s", root, name);
    FILE *f = fopen (path, "w");
    if (!f) {
        perror (path);
        exit (2);
    }
    va_list ap;
    va_start (ap, fmt);
    vfprintf (f, fmt, ap);
    va_end (ap);
    fclose (f);
}

static void drop (const char *name)
{
    char path[256];
    snprintf (path, sizeof path, "%s/%s", root, name);
    unlink (path);
}

/* What the fake machine has done so far, in ticks. */
static struct {
    unsigned long long busy, idle, guest, guest_start, guest_tty;
    int running;
    uint64_t now_ms;
} m;

/* Writes <root>/stat from m.  Busy time is split between user and system,
   idle time between idle and iowait (which counts as idle); the guest
   column is inside user already and must not count twice.  A long intr
   line, as on a real machine, must be skipped. */
static void write_stat (void)
{
    unsigned long long user = m.busy - m.busy / 4, sys = m.busy / 4;
    unsigned long long iowait = m.idle / 5, idle = m.idle - iowait;
    static char intr[8192];
    size_t len = 0;
    for (int i = 0; i < 3000; i++)
        len += (size_t) snprintf (intr + len, sizeof intr - len, " %d", i % 10);
    put ("stat",
         "cpu  %llu 0 %llu %llu %llu 0 0 0 %llu 0\n"
         "cpu0 10 0 10 100 0 0 0 0 0 0\n"
         "cpu1 10 0 10 100 0 0 0 0 0 0\n"
         "cpu2 10 0 10 100 0 0 0 0 0 0\n"
         "cpu3 10 0 10 100 0 0 0 0 0 0\n"
         "intr 123456%s\n"
         "ctxt 99999\n"
         "btime 1700000000\n"
         "processes 5000\n"
         "procs_running %d\n"
         "procs_blocked 0\n",
         user, sys, idle, iowait, user / 2, intr, m.running);
}

/* The guest's stat, with a command name made to fool a parser that stops
   at the first ')'.  tpgid is -1, as for any process without a terminal;
   its terminal m.guest_tty (0 but in test_guest_tty: none). */
static void write_guest (void)
{
    unsigned long long utime = m.guest - m.guest / 3, stime = m.guest / 3;
    put ("4242/stat",
         "4242 (a) (b) 7 7 7) R 1 4242 4242 %llu -1 4194560 120 0 0 0 "
         "%llu %llu 0 0 20 0 1 0 %llu 10000000 300 18446744073709551615\n",
         m.guest_tty, utime, stime, m.guest_start);
}

static void write_meminfo (unsigned long long avail_kb)
{
    put ("meminfo",
         "MemTotal:        8000000 kB\n"
         "MemFree:         1000000 kB\n"
         "MemAvailable:   %8llu kB\n"
         "Buffers:          100000 kB\n",
         avail_kb);
}

static void make_fake_proc (void)
{
    snprintf (root, sizeof root, "/tmp/test_idle.XXXXXX");
    if (!mkdtemp (root)) {
        perror ("mkdtemp");
        exit (2);
    }
    char path[256];
    snprintf (path, sizeof path, "%s/4242", root);
    mkdir (path, 0755);

    m.busy = 1000;
    m.idle = 10000;
    m.guest = 500;
    m.guest_start = 777;
    m.running = 3;
    m.now_ms = 10000;
    write_stat ();
    write_guest ();
    write_meminfo (4000000);
    put ("loadavg", "1.25 0.80 0.50 2/100 999\n");
    put ("act", "");
}

/* One second passes: the machine is busy for `busy` ticks (all CPUs
   together), idle for `idle`, and the guest runs for `guest`. */
static void step (unsigned long long busy, unsigned long long idle, unsigned long long guest)
{
    m.busy += busy;
    m.idle += idle;
    m.guest += guest;
    m.now_ms += 1000;
    write_stat ();
    write_guest ();
}

static void set_times (const char *path, uint64_t atime, uint64_t mtime)
{
    struct timespec ts[2] = { { (time_t) atime, 0 }, { (time_t) mtime, 0 } };
    if (utimensat (AT_FDCWD, path, ts, 0) != 0)
        perror (path);
}

static void touch (const char *name, uint64_t atime, uint64_t mtime)
{
    char path[256];
    snprintf (path, sizeof path, "%s/%s", root, name);
    set_times (path, atime, mtime);
}

static int remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static idle_t *new_fake (const char *activity)
{
    idle_config_t c;
    idle_config_default (&c);
    gl_strlcpy (c.proc_dir, root, sizeof c.proc_dir);
    c.n_activity = 1;
    snprintf (c.activity[0], sizeof c.activity[0], "%s/%s", root, activity);
    return idle_new (&c);
}

static int sample (idle_t *idle, gl_res_t *r, char *err, size_t errlen)
{
    return idle_sample (idle, m.now_ms, WALL, r, err, errlen);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_defaults (void)
{
    idle_config_t c;
    idle_config_default (&c);
    CHECK (strcmp (c.proc_dir, "/proc") == 0);
    CHECK_EQ (c.n_activity, 3);
    CHECK (strcmp (c.activity[0], "/dev/input/event*") == 0);
    CHECK (strcmp (c.activity[2], "/dev/pts") == 0);
    CHECK_EQ (c.owner_idle_min_s, 900);
    CHECK_EQ (c.owner_load_max_milli, 300);
    CHECK_EQ (c.min_mem_avail_kb, 65536);

    c.n_activity = IDLE_PATHS_MAX + 1;
    CHECK (idle_new (&c) == NULL);
    idle_config_default (&c);
    c.proc_dir[0] = '\0';
    CHECK (idle_new (&c) == NULL);

    CHECK (strcmp (idle_state_name (GL_RES_IDLE), "idle") == 0);
    CHECK (strcmp (idle_state_name (GL_RES_BUSY), "busy") == 0);
    CHECK (strcmp (idle_state_name (GL_RES_UNAVAILABLE), "unavailable") == 0);
    CHECK (strcmp (idle_state_name (42), "unknown") == 0);

    idle_t *idle = NULL;
    idle_destroy (&idle); /* harmless */
}

/* Loads, guests and the state they lead to, sample by sample. */
static void test_load (void)
{
    gl_res_t r;
    char err[256];
    touch ("act", WALL - 3600, WALL - 3600);
    idle_t *idle = new_fake ("act");
    CHECK (idle != NULL);
    CHECK (strcmp (idle_reason (idle), "not measured yet") == 0);

    CHECK_EQ (idle_add_guest (idle, GUEST), 0);
    CHECK_EQ (idle_add_guest (idle, GUEST), 0); /* twice is once */
    CHECK_EQ (idle_add_guest (idle, 5555), -1); /* no such process */
    CHECK_EQ (idle_add_guest (idle, 0), -1);

    /* First sample: no interval yet, so procs_running less ourselves. */
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.cores, 4);
    CHECK_EQ (r.load1_milli, 1250);
    CHECK_EQ (r.load_recent_milli, 2000);
    CHECK_EQ (r.owner_load_milli, 2000);
    CHECK_EQ (r.mem_total_kb, 8000000);
    CHECK_EQ (r.mem_avail_kb, 4000000);
    CHECK_EQ (r.owner_idle_s, 3600);
    CHECK_EQ (r.state, GL_RES_BUSY);
    CHECK (strcmp (idle_reason (idle), "owner load 2.00 > 0.30") == 0);
    CHECK (strcmp (err, "") == 0);

    /* Two of four CPUs busy, 0.9 of a CPU is the guest's. */
    step (2 * hz, 2 * hz, hz * 9 / 10);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 2000);
    CHECK_EQ (r.owner_load_milli, 1100);
    CHECK_EQ (r.state, GL_RES_BUSY);
    CHECK (strcmp (idle_reason (idle), "owner load 1.10 > 0.30") == 0);

    /* All the load is the guest's: the owner's machine is idle. */
    step (hz, 3 * hz, hz);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 1000);
    CHECK_EQ (r.owner_load_milli, 0);
    CHECK_EQ (r.state, GL_RES_IDLE);
    CHECK (strcmp (idle_reason (idle), "idle") == 0);

    /* The guest seems to use more than the machine: no wrap below zero. */
    step (hz, 3 * hz, hz * 3 / 2);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 1000);
    CHECK_EQ (r.owner_load_milli, 0);

    /* A sample at the same instant keeps the figures... */
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 1000);
    CHECK_EQ (r.owner_load_milli, 0);

    /* ...and the next one measures from the last real interval. */
    step (3 * hz, hz, 0);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 3000);
    CHECK_EQ (r.owner_load_milli, 3000);

    /* Load at the threshold is still idle; a little more is not. */
    step (hz * 3 / 10, hz * 37 / 10, 0);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 300);
    CHECK_EQ (r.state, GL_RES_IDLE);
    step (hz * 4 / 10, hz * 36 / 10, 0);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 400);
    CHECK_EQ (r.state, GL_RES_BUSY);

    /* The guest's pid now names another process (another start time): it
       is no guest of ours any more, now or later. */
    m.guest_start = 778;
    step (hz, 3 * hz, hz);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 1000);
    m.guest_start = 777;
    step (hz, 3 * hz, hz);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 1000);

    /* Registered again, it counts again; removed, it does not. */
    CHECK_EQ (idle_add_guest (idle, GUEST), 0);
    step (hz, 3 * hz, hz);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 0);
    idle_remove_guest (idle, GUEST);
    idle_remove_guest (idle, 9999); /* unknown: harmless */
    step (hz, 3 * hz, hz);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 1000);

    /* A guest that exits is dropped without a word. */
    CHECK_EQ (idle_add_guest (idle, GUEST), 0);
    step (hz, 3 * hz, 0);
    drop ("4242/stat");
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 1000);
    CHECK (strcmp (err, "") == 0);
    step (hz, 3 * hz, hz); /* the file is back... */
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 1000); /* ...but not the guest */

    /* Counters going back (a reset): start over as on a first sample,
       counting at most one task per core. */
    m.busy = 10;
    m.running = 9;
    step (0, 0, 0);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 4000);
    m.running = 1;
    step (0, 4 * hz, 0);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 0);
    CHECK_EQ (r.state, GL_RES_IDLE);

    /* Short of memory: unavailable, whatever the owner does. */
    write_meminfo (30 * 1024);
    step (0, 4 * hz, 0);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.state, GL_RES_UNAVAILABLE);
    CHECK (strcmp (idle_reason (idle), "memory available 30 MB < 64 MB") == 0);
    touch ("act", WALL - 1, WALL - 1);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.state, GL_RES_UNAVAILABLE);
    write_meminfo (4000000);
    touch ("act", WALL - 3600, WALL - 3600);

    idle_destroy (&idle);
    CHECK (idle == NULL);
    m.running = 3;
}

/* The owner at the keyboard, played by touching files. */
static void test_owner (void)
{
    gl_res_t r;
    m.running = 1; /* no load: only the owner can make it busy */
    step (0, 4 * hz, 0);
    idle_t *idle = new_fake ("act");

    touch ("act", WALL - 3600, WALL - 3600);
    CHECK (!idle_touched (idle)); /* before the first sample: nothing known */
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 3600);
    CHECK_EQ (r.state, GL_RES_IDLE);
    CHECK (!idle_touched (idle));
    touch ("act", WALL - 5, WALL - 3600); /* a keystroke between samples */
    CHECK (idle_touched (idle));

    touch ("act", WALL - 12, WALL - 3600); /* input */
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 12);
    CHECK_EQ (r.state, GL_RES_BUSY);
    CHECK (strcmp (idle_reason (idle), "owner active 12 s ago") == 0);

    touch ("act", WALL - 3600, WALL - 30); /* an ordinary file counts by mtime too */
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 30);
    CHECK_EQ (r.state, GL_RES_BUSY);

    touch ("act", WALL - 899, WALL - 899); /* just under 15 minutes */
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.state, GL_RES_BUSY);
    touch ("act", WALL - 900, WALL - 900); /* 15 minutes away: idle again */
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 900);
    CHECK_EQ (r.state, GL_RES_IDLE);

    touch ("act", WALL + 50, WALL - 3600); /* from the future: just now */
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 0);
    CHECK_EQ (r.state, GL_RES_BUSY);
    idle_destroy (&idle);

    /* A directory counts by its entries, hidden ones aside. */
    char path[256];
    snprintf (path, sizeof path, "%s/pts", root);
    mkdir (path, 0755);
    put ("pts/0", "");
    put ("pts/1", "");
    put ("pts/.hidden", "");
    touch ("pts/0", WALL - 5000, WALL - 5000);
    touch ("pts/1", WALL - 6000, WALL - 6000);
    touch ("pts/.hidden", WALL - 1, WALL - 1);
    touch ("pts", WALL - 2, WALL - 2); /* its own times don't count */
    idle = new_fake ("pts");
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 5000);
    touch ("pts/1", WALL - 7, WALL - 6000);
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 7);
    /* a touch between samples, seen without one (idle_touched) */
    CHECK (!idle_touched (idle));
    touch ("pts/0", WALL - 2, WALL - 5000);
    CHECK (idle_touched (idle));
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK (!idle_touched (idle));
    idle_destroy (&idle);

    /* A glob: the newest of the files it matches. */
    put ("ev0", "");
    put ("ev1", "");
    touch ("ev0", WALL - 400, WALL - 400);
    touch ("ev1", WALL - 3, WALL - 500);
    idle = new_fake ("ev*");
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 3);
    idle_destroy (&idle);

    /* Nothing to watch (a headless server): the owner never comes. */
    idle = new_fake ("no-such-device*");
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, IDLE_NEVER);
    CHECK_EQ (r.state, GL_RES_IDLE);
    CHECK (strcmp (idle_reason (idle), "idle") == 0);
    idle_destroy (&idle);
}

/* Real devices: /dev/ptmx is skipped, /dev/null counts, and a real
   terminal counts by its input, not by its output. */
static void test_devices (void)
{
    gl_res_t r;
    idle_config_t c;
    idle_config_default (&c);
    gl_strlcpy (c.proc_dir, root, sizeof c.proc_dir);
    c.n_activity = 1;

    struct stat st;
    if (stat ("/dev/ptmx", &st) == 0 && S_ISCHR (st.st_mode) && major (st.st_rdev) == 5) {
        snprintf (c.activity[0], sizeof c.activity[0], "/dev/ptmx");
        idle_t *idle = idle_new (&c);
        CHECK_EQ (idle_sample (idle, m.now_ms, (uint64_t) time (NULL), &r, NULL, 0), 0);
        CHECK_EQ (r.owner_idle_s, IDLE_NEVER);
        idle_destroy (&idle);
    }
    snprintf (c.activity[0], sizeof c.activity[0], "/dev/null");
    idle_t *idle = idle_new (&c);
    CHECK_EQ (idle_sample (idle, m.now_ms, (uint64_t) time (NULL), &r, NULL, 0), 0);
    CHECK (r.owner_idle_s != IDLE_NEVER);
    idle_destroy (&idle);

    int master = posix_openpt (O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt (master) != 0 || unlockpt (master) != 0) {
        tap_skip ("no pseudo-terminals here for the terminal test");
        if (master >= 0)
            close (master);
        return;
    }
    const char *name = ptsname (master);
    int slave = name ? open (name, O_RDWR | O_NOCTTY) : -1;
    CHECK (slave >= 0);
    if (slave < 0) {
        close (master);
        return;
    }
    gl_strlcpy (c.activity[0], name, sizeof c.activity[0]);
    idle = idle_new (&c);
    uint64_t now = (uint64_t) time (NULL);
    set_times (name, now - 1000, now - 1000);

    /* Output (a job writing to its terminal) sets mtime: not the owner. */
    CHECK_EQ (write (slave, "out\n", 4), 4);
    char buf[64];
    CHECK (read (master, buf, sizeof buf) > 0);
    now = (uint64_t) time (NULL);
    CHECK_EQ (idle_sample (idle, m.now_ms, now, &r, NULL, 0), 0);
    CHECK (r.owner_idle_s >= 999);

    /* Input read from the terminal sets atime: the owner typed. */
    CHECK_EQ (write (master, "in\n", 3), 3);
    CHECK (read (slave, buf, sizeof buf) > 0);
    now = (uint64_t) time (NULL);
    CHECK_EQ (idle_sample (idle, m.now_ms, now, &r, NULL, 0), 0);
    CHECK (r.owner_idle_s <= 2);
    CHECK_EQ (r.state, GL_RES_BUSY);

    idle_destroy (&idle);
    close (slave);
    close (master);
}

/* Missing or malformed files: -1, the file named, what could be read is
   filled, and the state is unavailable. */
static void expect_error (idle_t *idle, const char *file)
{
    gl_res_t r;
    char err[256] = "unset";
    char want[256];
    snprintf (want, sizeof want, "%s/%s", root, file);
    CHECK_EQ (sample (idle, &r, err, sizeof err), -1);
    CHECK (strstr (err, want) != NULL);
    CHECK (strcmp (idle_reason (idle), err) == 0);
    CHECK_EQ (r.state, GL_RES_UNAVAILABLE);
    if (strstr (err, want) == NULL)
        fprintf (stderr, "  wanted %s in: %s\n", want, err);
}

static void test_errors (void)
{
    gl_res_t r;
    char err[256];
    m.running = 3;
    step (hz, 3 * hz, 0);
    touch ("act", WALL - 3600, WALL - 3600);
    idle_t *idle = new_fake ("act");
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);

    static const char *bad_loadavg[] = {
        "garbage\n", "",           "-1.00 0.5 0.5 1/2 3\n",
        "1. 2 3\n",  "1.2x 3 4\n", "99999999999.00 1 1 1/1 1\n",
    };
    for (size_t i = 0; i < sizeof bad_loadavg / sizeof bad_loadavg[0]; i++) {
        put ("loadavg", "%s", bad_loadavg[i]);
        expect_error (idle, "loadavg");
    }
    drop ("loadavg");
    expect_error (idle, "loadavg");
    CHECK_EQ (sample (idle, &r, err, sizeof err), -1);
    CHECK (strstr (err, "No such file") != NULL);
    CHECK_EQ (r.cores, 4); /* the rest is filled */
    CHECK_EQ (r.mem_total_kb, 8000000);
    CHECK_EQ (r.owner_idle_s, 3600);
    put ("loadavg", "0.5 0.5 0.5 1/2 3"); /* no newline is fine */
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load1_milli, 500);

    put ("meminfo", "MemTotal: 8000000 kB\nMemFree: 10 kB\n");
    expect_error (idle, "meminfo");
    CHECK_EQ (sample (idle, &r, err, sizeof err), -1);
    CHECK_EQ (r.load1_milli, 500);
    put ("meminfo", "MemTotal: 8000000 kB\nMemAvailable: 12x kB\n");
    expect_error (idle, "meminfo");
    put ("meminfo", "MemTotal: 8000000 kB\nMemAvailable: 100 MB\n");
    expect_error (idle, "meminfo");
    /* Two sources broken: the sample reads on, and reports the first. */
    put ("loadavg", "garbage\n");
    expect_error (idle, "loadavg");
    put ("loadavg", "0.5 0.5 0.5 1/2 3\n");
    write_meminfo (4000000);

    static const char *bad_stat[] = {
        "cpu0 1 2 3 4\nprocs_running 1\n",             /* no cpu */
        "cpu  1 2 3\ncpu0 1 2 3 4\nprocs_running 1\n", /* too short */
        "cpu  1 2 3 -4 5\ncpu0 1 2 3 4\nprocs_running 1\n",
        "cpu  1 2 3 4 x\ncpu0 1 2 3 4\nprocs_running 1\n",
        "cpu  1 2 3 4\nprocs_running 1\n", /* no cpuN */
        "cpu  1 2 3 4\ncpu0 1 2 3 4\n",    /* no procs_running */
        "cpu  1 2 3 4\ncpu0 1 2 3 4\nprocs_running many\n",
        "cpu  99999999999999999999 2 3 4\ncpu0 1 2 3 4\nprocs_running 1\n",
    };
    CHECK_EQ (idle_add_guest (idle, GUEST), 0);
    for (size_t i = 0; i < sizeof bad_stat / sizeof bad_stat[0]; i++) {
        put ("stat", "%s", bad_stat[i]);
        expect_error (idle, "stat");
    }
    CHECK_EQ (sample (idle, &r, err, sizeof err), -1);
    CHECK_EQ (r.cores, 0);         /* not known */
    CHECK_EQ (r.load1_milli, 500); /* known */

    /* Back to health, it starts over with a first sample, and what the
       guest used while the file was broken is not put on the next one. */
    step (hz, 3 * hz, 5 * hz);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 2000);
    step (2 * hz, 2 * hz, hz);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 2000);
    CHECK_EQ (r.owner_load_milli, 1000);

    /* A guest's file that is not what the kernel writes is an error too. */
    step (hz, 3 * hz, 0);
    put ("4242/stat", "4242 (no closing parenthesis R 1 2 3\n");
    expect_error (idle, "4242/stat");
    step (hz, 3 * hz, 0); /* dropped, so all well again */
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    put ("4242/stat", "4242 (short) R 1 2 3\n");
    CHECK_EQ (idle_add_guest (idle, GUEST), -1);

    /* The message fits whatever room it is given. */
    drop ("loadavg");
    char small[10];
    memset (small, 'x', sizeof small);
    CHECK_EQ (sample (idle, &r, small, sizeof small), -1);
    CHECK (memchr (small, '\0', sizeof small) != NULL);
    CHECK_EQ (sample (idle, &r, NULL, 0), -1);
    put ("loadavg", "1.25 0.80 0.50 2/100 999\n");

    idle_destroy (&idle);
    write_guest ();
}

/* The real /proc, with a child spinning on a CPU as our guest: its load
   must be taken out of the owner's.  A busy machine may give the child less
   than a CPU, so it is compared with what the child really used. */
static void test_real_proc (void)
{
    idle_config_t c;
    idle_config_default (&c);
    idle_t *idle = idle_new (&c);
    gl_res_t r;
    char err[256];

    pid_t child = fork ();
    if (child == 0) {
        uint64_t end = gl_mono_ms () + 3000; /* in case nobody stops us */
        while (gl_mono_ms () < end)
            ;
        _exit (0);
    }
    CHECK (child > 0);
    if (child < 0)
        return;
    CHECK_EQ (idle_add_guest (idle, child), 0);

    uint64_t t0 = gl_mono_ms ();
    CHECK_EQ (idle_sample (idle, t0, (uint64_t) time (NULL), &r, err, sizeof err), 0);
    struct timespec second = { 1, 0 };
    nanosleep (&second, NULL);
    uint64_t t1 = gl_mono_ms ();
    int rc = idle_sample (idle, t1, (uint64_t) time (NULL), &r, err, sizeof err);
    kill (child, SIGKILL);
    struct rusage ru;
    int status;
    wait4 (child, &status, 0, &ru);

    CHECK_EQ (rc, 0);
    if (rc != 0)
        fprintf (stderr, "  %s\n", err);
    long used_ms = ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
                   ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
    long share = used_ms * 1000 / (long) (t1 - t0); /* CPUs x 1000 */
    long guest = (long) r.load_recent_milli - (long) r.owner_load_milli;
    printf ("# real: cores %u, recent %u, owner %u, child used %ld ms in %llu ms\n", r.cores,
            r.load_recent_milli, r.owner_load_milli, used_ms, (unsigned long long) (t1 - t0));

    CHECK_EQ (r.cores, sysconf (_SC_NPROCESSORS_ONLN));
    CHECK (r.mem_total_kb > 0 && r.mem_avail_kb <= r.mem_total_kb);
    CHECK (r.owner_load_milli <= r.load_recent_milli);
    CHECK (guest + 250 >= share); /* most of what the child used is the guest's */
    CHECK (guest <= share + 250); /* and not much more */

    /* Reaped, it is dropped without a word. */
    CHECK_EQ (idle_sample (idle, t1 + 100, (uint64_t) time (NULL), &r, err, sizeof err), 0);
    idle_destroy (&idle);
}

/* Only news is spread: small wobbles are not. */
static void test_differs (void)
{
    gl_res_t a = { .cores = 4,
                   .load1_milli = 1000,
                   .load_recent_milli = 1000,
                   .owner_load_milli = 500,
                   .mem_total_kb = 1000000,
                   .mem_avail_kb = 500000,
                   .owner_idle_s = 1100,
                   .state = GL_RES_IDLE };
    gl_res_t b = a;
    CHECK (!idle_res_differs (&a, &b));
    b.owner_idle_s = 2047; /* time passing within an octave is not news */
    b.load1_milli = 1499;
    b.load_recent_milli = 1900; /* nor jitter */
    b.owner_load_milli = 0;
    b.mem_avail_kb = 549999;
    CHECK (!idle_res_differs (&a, &b));
    b.load1_milli = 1500;
    CHECK (idle_res_differs (&a, &b));
    b = a;
    b.load1_milli = 500;
    CHECK (idle_res_differs (&a, &b));
    b = a;
    b.mem_avail_kb = 450000;
    CHECK (idle_res_differs (&a, &b));
    b = a;
    b.state = GL_RES_BUSY;
    CHECK (idle_res_differs (&a, &b));
    b = a;
    b.cores = 2;
    CHECK (idle_res_differs (&a, &b));
    /* The owner's idle time, at each doubling from 1024 s: placement
       weighs it, and an unchanged estimate is not signed again for an
       hour; below, an owner at work pausing is no news. */
    b = a;
    b.owner_idle_s = 2048;
    CHECK (idle_res_differs (&a, &b));
    a.owner_idle_s = 10;
    b.owner_idle_s = 1023;
    CHECK (!idle_res_differs (&a, &b));
    b.owner_idle_s = 1024;
    CHECK (idle_res_differs (&a, &b));
    a.owner_idle_s = 70000; /* past the last octave: no more news */
    b.owner_idle_s = UINT32_MAX;
    CHECK (!idle_res_differs (&a, &b));
    a.owner_idle_s = 40000;
    CHECK (idle_res_differs (&a, &b));
}

/* What a guest runs counts as the guest's while it runs: a process of its
   session (here a compiler under the guest's shell), not yet reaped. */
static void write_member (unsigned long long ticks, int session)
{
    put ("4243/stat",
         "4243 (cc1) S 4242 4242 %d 0 -1 4194560 120 0 0 0 "
         "%llu 0 0 0 20 0 1 0 900 10000000 300 18446744073709551615\n",
         session, ticks);
}

static void test_session (void)
{
    char path[512];
    snprintf (path, sizeof path, "%s/4243", root);
    mkdir (path, 0755);
    write_member (100, 4242);
    touch ("act", WALL - 3600, WALL - 3600);
    idle_t *idle = new_fake ("act");
    gl_res_t r;
    char err[256];
    CHECK_EQ (idle_add_guest (idle, GUEST), 0);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.guests, 1);

    /* two CPUs busy: one is the member's, the guest's shell sleeps */
    step (2 * hz, 2 * hz, 0);
    write_member (100 + (unsigned long long) hz, 4242);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.load_recent_milli, 2000);
    CHECK_EQ (r.owner_load_milli, 1000);

    /* a process of another session is the owner's */
    step (2 * hz, 2 * hz, 0);
    write_member (100 + 2 * (unsigned long long) hz, 999);
    CHECK_EQ (sample (idle, &r, err, sizeof err), 0);
    CHECK_EQ (r.owner_load_milli, 2000);
    idle_destroy (&idle);
    snprintf (path, sizeof path, "%s/4243/stat", root);
    unlink (path);
    snprintf (path, sizeof path, "%s/4243", root);
    rmdir (path);
}

/* A guest's own terminal (glx -t: the pty its host made for it, in
   /dev/pts among the owner's) is not the owner's: its user typing there
   leaves the machine idle, while another terminal's input still counts. */
static void test_guest_tty (void)
{
    int master = posix_openpt (O_RDWR | O_NOCTTY);
    const char *name =
        master >= 0 && !grantpt (master) && !unlockpt (master) ? ptsname (master) : NULL;
    struct stat st;
    if (!name || stat (name, &st)) {
        tap_skip ("test_guest_tty: no pseudo-terminal here");
        if (master >= 0)
            close (master);
        return;
    }
    char slave[64];
    gl_strlcpy (slave, name, sizeof slave);
    gl_res_t r;
    m.running = 1; /* no load: only the owner can make it busy */
    step (0, 4 * hz, 0);
    idle_config_t c;
    idle_config_default (&c);
    gl_strlcpy (c.proc_dir, root, sizeof c.proc_dir);
    c.n_activity = 1;
    gl_strlcpy (c.activity[0], slave, sizeof c.activity[0]);
    idle_t *idle = idle_new (&c);
    set_times (slave, WALL - 5, WALL - 3600); /* input 5 s ago */
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 5); /* nobody's guest yet: the owner's */
    CHECK_EQ (r.state, GL_RES_BUSY);
    m.guest_tty = (unsigned long long) st.st_rdev;
    write_guest ();
    CHECK_EQ (idle_add_guest (idle, GUEST), 0);
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, IDLE_NEVER); /* the guest's terminal: no owner seen */
    CHECK_EQ (r.state, GL_RES_IDLE);
    m.guest_tty = (unsigned long long) st.st_rdev + 1; /* another terminal is its */
    write_guest ();
    step (0, 4 * hz, 0);
    CHECK_EQ (sample (idle, &r, NULL, 0), 0);
    CHECK_EQ (r.owner_idle_s, 5);
    CHECK_EQ (r.state, GL_RES_BUSY);
    idle_destroy (&idle);
    m.guest_tty = 0;
    write_guest ();
    close (master);
}

int main (void)
{
    hz = sysconf (_SC_CLK_TCK);
    test_differs ();
    make_fake_proc ();

    test_defaults ();
    test_load ();
    test_owner ();
    test_devices ();
    test_errors ();
    test_real_proc ();
    test_session ();
    test_guest_tty ();

    nftw (root, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    return tap_done ("test_idle");
}
