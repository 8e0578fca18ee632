/*  idle.c -- how idle is this machine?  (see idle.h for what is measured)

    Everything comes from small text files under the proc directory, read
    into fixed-size buffers.  A line too long for its buffer is skipped
    whole (the "intr" line of /proc/stat runs to kilobytes; we need none of
    it), every number is checked before it is used, and a file we need
    that is missing or malformed is reported by name.  No file stays open
    between samples, so a job forked by the agent inherits none of them.  */

#include "idle.h"
#include "err.h"
#include "grow.h"
#include "str.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define LINE_SIZE   512 /* a "cpu" line is about 100 characters */
#define PATH_SIZE   512 /* proc_dir and activity paths are under 256 */
#define REASON_SIZE 640 /* room for a path and an error around it */

/* Character-device majors, from the kernel's list of devices. */
#define MAJOR_TTY       4   /* virtual consoles (and serial lines) */
#define MAJOR_TTYAUX    5   /* /dev/tty, /dev/console, /dev/ptmx */
#define MAJOR_PTS_FIRST 136 /* Unix98 pty slaves, /dev/pts/N */
#define MAJOR_PTS_LAST  143
#define VT_MAX          63 /* tty1 .. tty63; tty0 is the current one's alias */

/* Where the kernel names the foreground console ("tty2"). */
#define VT_ACTIVE_PATH "/sys/class/tty/tty0/active"
/* Everything the globs name is looked at again this often, and whenever
   a pattern's directory changed (a device came or went), the foreground
   console changed, or the kernel cannot tell which one it is. */
#define FULL_SCAN_MS   60000

/* An activity file (a glob's match), with its newest activity when last
   looked at.  A virtual console (tty1 .. tty63) gets input only while it
   is the foreground one, so only that one is looked at between full
   scans: on a machine with 64 console devices, a sample stats two files
   instead of 64 (and reads no directory of /dev). */
typedef struct {
    char *path;
    int64_t t; /* seconds since the epoch, -1: nothing */
    int vt;    /* the console's number, or -1: not a console */
    bool dir;  /* a directory: its entries count, each sample */
} act_file_t;

typedef struct {
    int pid;
    uint64_t start; /* start time: a new process under a reused pid differs */
    uint64_t ticks; /* its session's CPU ticks when last read */
    uint64_t sum;   /* the same, being added up by the current read */
    uint64_t tty;   /* its controlling terminal's device (glx -t), 0: none */
} guest_t;

struct idle_t {
    idle_config_t config;
    long hz; /* clock ticks per second in <proc> files */

    /* The previous sample, the start of the next interval. */
    bool have_prev;
    uint64_t prev_ms;
    uint64_t prev_busy; /* jiffies, all CPUs together */
    uint64_t prev_total;

    /* The last figures, kept when a sample comes too soon to change them. */
    uint32_t recent_milli;
    uint32_t guest_milli;

    guest_t *guests;
    size_t n_guests;
    size_t max_guests;

    /* The activity files the globs named at the last full scan (below). */
    act_file_t *files;
    size_t n_files, cap_files;
    struct timespec dir_mtime[IDLE_PATHS_MAX]; /* of each pattern's directory then */
    uint64_t scanned_ms;                       /* 0: never */
    int fg_vt;                                 /* the foreground console then; -1 */
    int64_t newest;                            /* the owner's last activity then; -1 */

    char reason[REASON_SIZE];
};

/* What <proc>/stat tells us. */
typedef struct {
    uint32_t cores;
    uint64_t busy; /* jiffies, all CPUs together */
    uint64_t total;
    uint64_t running; /* procs_running */
} cpu_times_t;

/* ---- small helpers -------------------------------------------------------- */

/* The room left in err for a failure: none once it holds one.  A sample
   reads on after a failure, to fill what it can, but reports the first:
   later ones often follow from it. */
static size_t room (const char *err, size_t errlen)
{
    return errlen > 0 && err[0] == '\0' ? errlen : 0;
}

static const char *skip_blanks (const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Parses an unsigned decimal field at *s (after blanks) that ends at a
   blank or the end of the string, and moves *s past it: "-4" and "12abc"
   are refused.  *out and *s stay as they were on failure. */
static bool parse_field (const char **s, uint64_t *out)
{
    const char *p = skip_blanks (*s);
    uint64_t v;
    if (!gl_parse_u64 (&p, &v) || (*p != '\0' && *p != ' ' && *p != '\t'))
        return false;
    *out = v;
    *s = p;
    return true;
}

/* Parses a decimal such as "1.25" into thousandths (1250), without floating
   point.  Digits past the third decimal are ignored. */
static bool parse_milli (const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (!isdigit ((unsigned char) *s))
        return false;
    for (; isdigit ((unsigned char) *s); s++) {
        v = v * 10 + (uint64_t) (*s - '0');
        if (v > UINT32_MAX / 1000)
            return false;
    }
    v *= 1000;
    if (*s == '.') {
        s++;
        if (!isdigit ((unsigned char) *s))
            return false;
        for (uint64_t place = 100; isdigit ((unsigned char) *s); s++, place /= 10)
            v += (uint64_t) (*s - '0') * place;
    }
    if ((*s != '\0' && !isspace ((unsigned char) *s)) || v > UINT32_MAX)
        return false;
    *out = (uint32_t) v;
    return true;
}

/* a / b rounded to the nearest, capped to fit a uint32_t. */
static uint32_t ratio (uint64_t a, uint64_t b)
{
    uint64_t v = (a + b / 2) / b;
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
}

/* Reads one line into buf without its newline.  Returns 1, 0 at the end of
   the file, or -1 for a line too long for buf, whose rest is skipped so the
   next call starts on the next line. */
static int read_line (FILE *f, char *buf, size_t size)
{
    if (!fgets (buf, (int) size, f))
        return 0;
    size_t len = strlen (buf);
    if (len > 0 && buf[len - 1] == '\n') {
        buf[len - 1] = '\0';
        return 1;
    }
    if (feof (f))
        return 1; /* the last line, without a newline */
    int c;
    while ((c = getc (f)) != EOF && c != '\n')
        ;
    return -1;
}

/* Reads a whole small file into buf, NUL-terminated, at most size - 1
   bytes.  Returns the length, or -1 with errno set. */
static ssize_t read_small (const char *path, char *buf, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len < size - 1) {
        ssize_t n = read (fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close (fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    close (fd);
    buf[len] = '\0';
    return (ssize_t) len;
}

/* ---- the proc files ------------------------------------------------------- */

/* The aggregate line: "cpu  user nice system idle iowait irq softirq steal
   guest guest_nice".  Old kernels give only the first four, new ones may
   add more; guest time is already inside user and nice, so only the first
   eight add up to the total.  Waiting for I/O counts as idle: that CPU is
   free to run something.  Steal counts as busy: that time was not ours. */
static bool parse_cpu_line (const char *s, cpu_times_t *ct)
{
    uint64_t v[8] = { 0 };
    uint64_t x;
    int n = 0;
    while (parse_field (&s, &x)) {
        if (n < 8)
            v[n] = x;
        n++;
    }
    if (n < 4 || *skip_blanks (s) != '\0')
        return false;
    uint64_t total = 0;
    for (int i = 0; i < 8; i++) {
        if (v[i] > UINT64_MAX - total)
            return false;
        total += v[i];
    }
    ct->total = total;
    ct->busy = total - v[3] - v[4];
    return true;
}

static int read_stat (const char *path, cpu_times_t *ct, char *err, size_t errlen)
{
    FILE *f = fopen (path, "re");
    if (!f)
        return gl_err (err, errlen, "%s: %s", path, strerror (errno));
    memset (ct, 0, sizeof *ct);
    bool have_cpu = false, have_running = false, bad = false;
    char line[LINE_SIZE];
    int rc;
    while ((rc = read_line (f, line, sizeof line)) != 0) {
        if (rc < 0)
            continue;
        if (strncmp (line, "cpu", 3) == 0 && isdigit ((unsigned char) line[3]))
            ct->cores++;
        else if (strncmp (line, "cpu ", 4) == 0) {
            if (have_cpu || !parse_cpu_line (line + 4, ct))
                bad = true;
            have_cpu = true;
        }
        else if (strncmp (line, "procs_running ", 14) == 0) {
            const char *s = line + 14;
            if (have_running || !parse_field (&s, &ct->running) || *skip_blanks (s) != '\0')
                bad = true;
            have_running = true;
        }
    }
    fclose (f);

    if (bad || !have_cpu || !have_running || ct->cores == 0)
        return gl_err (err, errlen, "%s: %s", path,
                       bad ? "malformed \"cpu\" or \"procs_running\" line"
                           : "no \"cpu\", \"cpuN\" or \"procs_running\" line");
    return 0;
}

/* "0.52 0.58 0.59 1/467 12345": we take the first. */
static int read_loadavg (const char *path, uint32_t *load1, char *err, size_t errlen)
{
    char buf[LINE_SIZE];
    if (read_small (path, buf, sizeof buf) < 0)
        return gl_err (err, errlen, "%s: %s", path, strerror (errno));
    if (!parse_milli (buf, load1))
        return gl_err (err, errlen, "%s: malformed load average", path);
    return 0;
}

/* "MemTotal:       16318148 kB": the number, which must be in kB. */
static bool parse_kb (const char *s, uint64_t *out)
{
    if (!parse_field (&s, out))
        return false;
    s = skip_blanks (s);
    return strcmp (s, "kB") == 0;
}

static int read_meminfo (const char *path, uint64_t *total, uint64_t *avail, char *err,
                         size_t errlen)
{
    FILE *f = fopen (path, "re");
    if (!f)
        return gl_err (err, errlen, "%s: %s", path, strerror (errno));
    bool have_total = false, have_avail = false, bad = false;
    char line[LINE_SIZE];
    int rc;
    while ((rc = read_line (f, line, sizeof line)) != 0) {
        if (rc < 0)
            continue;
        if (strncmp (line, "MemTotal:", 9) == 0) {
            bad |= have_total || !parse_kb (line + 9, total);
            have_total = true;
        }
        else if (strncmp (line, "MemAvailable:", 13) == 0) {
            bad |= have_avail || !parse_kb (line + 13, avail);
            have_avail = true;
        }
    }
    fclose (f);

    if (bad || !have_total || !have_avail)
        return gl_err (err, errlen, "%s: %s", path,
                       bad ? "malformed MemTotal or MemAvailable line"
                           : "no MemTotal or MemAvailable line");
    return 0;
}

/* Moves *s past n blank-separated fields; false when the line ends first. */
static bool skip_fields (const char **s, int n)
{
    const char *p = *s;
    for (int i = 0; i < n; i++) {
        p = skip_blanks (p);
        if (*p == '\0')
            return false;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
    }
    *s = p;
    return true;
}

/* <proc>/<pid>/stat: "pid (comm) state ppid ...", where utime and stime are
   fields 14 and 15, cutime and cstime (children it has waited for) 16 and
   17, and starttime is field 22.  A guest's ticks count its children too,
   once they are reaped: a job is usually a shell and what it runs.  The command name may hold
   spaces, parentheses and even newlines, so it is never parsed: the fields
   start after the last ')'.  Returns 0, 1 when the process is gone, or -1
   with a message in err when the file is not what the kernel writes. */
static int read_pid_stat (const char *path, uint64_t *ticks, uint64_t *start, long *session,
                          uint64_t *tty, char *err, size_t errlen)
{
    char buf[1024];
    ssize_t len = read_small (path, buf, sizeof buf);
    if (len < 0 && (errno == ENOENT || errno == ESRCH))
        return 1;
    if (len < 0)
        return gl_err (err, errlen, "%s: %s", path, strerror (errno));
    if (len == 0)
        return 1; /* it exited while we opened it */

    const char *s = strrchr (buf, ')');
    uint64_t utime, stime, cutime, cstime, sid, tty_nr;
    if (s)
        s++;
    if (!s || !skip_fields (&s, 3)                                  /* fields 3..5 */
        || !parse_field (&s, &sid)                                  /* 6: session */
        || !parse_field (&s, &tty_nr)                               /* 7: terminal */
        || !skip_fields (&s, 6)                                     /* 8..13 */
        || !parse_field (&s, &utime) || !parse_field (&s, &stime)   /* 14, 15 */
        || !parse_field (&s, &cutime) || !parse_field (&s, &cstime) /* 16, 17 */
        || !skip_fields (&s, 4)                                     /* 18..21 */
        || !parse_field (&s, start)                                 /* 22 */
        || utime > UINT64_MAX / 4 || stime > UINT64_MAX / 4 || cutime > UINT64_MAX / 4 ||
        cstime > UINT64_MAX / 4) {
        return gl_err (err, errlen, "%s: malformed process status", path);
    }
    *ticks = utime + stime + cutime + cstime;
    if (session)
        *session = sid <= INT32_MAX ? (long) sid : -1;
    if (tty)
        *tty = tty_nr;
    return 0;
}

/* ---- guests --------------------------------------------------------------- */

static void guest_path (const idle_t *self, int pid, char *path, size_t size)
{
    snprintf (path, size, "%s/%d/stat", self->config.proc_dir, pid);
}

static void drop_guest (idle_t *self, size_t i)
{
    self->guests[i] = self->guests[--self->n_guests];
}

static guest_t *guest_by_pid (idle_t *self, long pid)
{
    for (size_t i = 0; i < self->n_guests; i++)
        if (self->guests[i].pid == pid)
            return &self->guests[i];
    return NULL;
}

/* A guest leads a session of its own (sched/exec.c starts every job with
   setsid), so the CPU of what it runs is that of the processes of its
   session: each one's own ticks and those of the children it reaped.  A
   shell running make running compilers is then all the guest's, not just
   once the compilers are waited for. */
static void add_session_members (idle_t *self)
{
    DIR *d = opendir (self->config.proc_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir (d))) {
        char *end;
        long pid = strtol (e->d_name, &end, 10);
        if (*end || pid <= 0 || guest_by_pid (self, pid))
            continue;
        char path[PATH_SIZE];
        uint64_t ticks, start;
        long session;
        snprintf (path, sizeof path, "%s/%ld/stat", self->config.proc_dir, pid);
        guest_t *g;
        if (read_pid_stat (path, &ticks, &start, &session, NULL, NULL, 0) == 0 &&
            (g = guest_by_pid (self, session)))
            g->sum += ticks;
    }
    closedir (d);
}

/* Reads every guest's CPU time, moves its baseline to now and returns the
   ticks all of them used since the last read.  Guests that have exited, or
   whose pid now belongs to another process, are dropped. */
static uint64_t update_guests (idle_t *self, char *err, size_t errlen)
{
    uint64_t used = 0;
    size_t i = 0;
    while (i < self->n_guests) {
        guest_t *g = &self->guests[i];
        char path[PATH_SIZE];
        uint64_t start;
        guest_path (self, g->pid, path, sizeof path);
        int rc = read_pid_stat (path, &g->sum, &start, NULL, &g->tty, err, room (err, errlen));
        if (rc != 0 || start != g->start) {
            drop_guest (self, i);
            continue;
        }
        i++;
    }
    if (self->n_guests)
        add_session_members (self);
    for (i = 0; i < self->n_guests; i++) {
        guest_t *g = &self->guests[i];
        /* a member reaped by init takes its ticks away: no wrap below 0 */
        if (g->sum > g->ticks)
            used += g->sum - g->ticks;
        g->ticks = g->sum;
    }
    return used;
}

int idle_add_guest (idle_t *self, int pid)
{
    if (pid <= 0) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < self->n_guests; i++)
        if (self->guests[i].pid == pid)
            return 0;

    guest_t g = { .pid = pid };
    char path[PATH_SIZE];
    guest_path (self, pid, path, sizeof path);
    if (read_pid_stat (path, &g.ticks, &g.start, NULL, &g.tty, NULL, 0) != 0) {
        errno = ESRCH;
        return -1;
    }
    if (gl_grow (&self->guests, &self->max_guests, self->n_guests + 1, sizeof *self->guests))
        return -1;
    self->guests[self->n_guests++] = g;
    return 0;
}

void idle_remove_guest (idle_t *self, int pid)
{
    for (size_t i = 0; i < self->n_guests; i++)
        if (self->guests[i].pid == pid) {
            drop_guest (self, i);
            return;
        }
}

/* ---- load ----------------------------------------------------------------- */

/* Sets the recent and the owner's load from this sample of <proc>/stat. */
static void measure_load (idle_t *self, const cpu_times_t *ct, uint64_t now_ms, gl_res_t *out,
                          char *err, size_t errlen)
{
    uint64_t cap = (uint64_t) ct->cores * 1000;
    bool restart = !self->have_prev || ct->busy < self->prev_busy || ct->total < self->prev_total;
    /* Too soon to see anything new: keep the last figures and the start of
       the interval, so the next sample covers the whole span. */
    bool too_soon = !restart && (ct->total == self->prev_total || now_ms <= self->prev_ms);

    if (restart) {
        /* No interval to average over (the first sample, or the counters
           were reset): take what runs right now, less ourselves. */
        uint64_t running = ct->running > 0 ? (ct->running - 1) * 1000 : 0;
        self->recent_milli = (uint32_t) (running < cap ? running : cap);
        self->guest_milli = 0;
        update_guests (self, err, errlen);
    }
    else if (!too_soon) {
        uint64_t busy = ct->busy - self->prev_busy;
        uint64_t total = ct->total - self->prev_total;
        self->recent_milli = ratio (busy * cap, total);
        if (self->recent_milli > cap)
            self->recent_milli = (uint32_t) cap;
        uint64_t used = update_guests (self, err, errlen);
        self->guest_milli =
            ratio (used * 1000 * 1000, (now_ms - self->prev_ms) * (uint64_t) self->hz);
    }
    if (!too_soon) {
        self->have_prev = true;
        self->prev_ms = now_ms;
        self->prev_busy = ct->busy;
        self->prev_total = ct->total;
    }
    out->load_recent_milli = self->recent_milli;
    out->owner_load_milli =
        self->recent_milli > self->guest_milli ? self->recent_milli - self->guest_milli : 0;
}

/* ---- the owner ------------------------------------------------------------ */

static bool is_terminal (unsigned m)
{
    return m == MAJOR_TTY || (m >= MAJOR_PTS_FIRST && m <= MAJOR_PTS_LAST);
}

/* Is the terminal rdev a guest's own (glx -t: the pty its host made for
   it)?  Its user types there, not this machine's owner. */
static bool guest_terminal (const idle_t *self, dev_t rdev)
{
    for (size_t i = 0; i < self->n_guests; i++)
        if (self->guests[i].tty && self->guests[i].tty == (uint64_t) rdev)
            return true;
    return false;
}

/* Folds one file's evidence of the owner into *newest (seconds since the
   epoch, -1 while nothing was seen). */
static void note_activity (const idle_t *self, const struct stat *st, int64_t *newest)
{
    unsigned m = S_ISCHR (st->st_mode) ? major (st->st_rdev) : 0;
    int64_t t;
    if (m == MAJOR_TTYAUX || (is_terminal (m) && guest_terminal (self, st->st_rdev)))
        return;
    if (is_terminal (m))
        t = st->st_atim.tv_sec;
    else
        t = st->st_atim.tv_sec > st->st_mtim.tv_sec ? st->st_atim.tv_sec : st->st_mtim.tv_sec;
    if (t < 0)
        t = 0;
    if (t > *newest)
        *newest = t;
}

/* A file counts by its own times; a directory by those of its entries. */
static void scan_source (const idle_t *self, const char *path, int64_t *newest)
{
    struct stat st;
    if (stat (path, &st) != 0)
        return;
    if (!S_ISDIR (st.st_mode)) {
        note_activity (self, &st, newest);
        return;
    }
    DIR *dir = opendir (path);
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir (dir)) != NULL) {
        char child[PATH_SIZE];
        if (e->d_name[0] == '.')
            continue;
        if (snprintf (child, sizeof child, "%s/%s", path, e->d_name) >= (int) sizeof child)
            continue;
        if (stat (child, &st) == 0)
            note_activity (self, &st, newest);
    }
    closedir (dir);
}

/* The newest activity on one file, -1 when none; *vt its console number
   (or -1). */
static int64_t file_activity (const idle_t *self, const char *path, int *vt, bool *dir)
{
    struct stat st;
    int64_t newest = -1;
    *vt = -1;
    *dir = false;
    if (stat (path, &st) != 0)
        return -1;
    if (S_ISDIR (st.st_mode)) {
        *dir = true;
        return -1;
    }
    if (S_ISCHR (st.st_mode) && major (st.st_rdev) == MAJOR_TTY && minor (st.st_rdev) >= 1 &&
        minor (st.st_rdev) <= VT_MAX)
        *vt = (int) minor (st.st_rdev);
    note_activity (self, &st, &newest);
    return newest;
}

/* The foreground console's number, -1 when the kernel does not say. */
static int foreground_vt (void)
{
    int fd = open (VT_ACTIVE_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[16];
    ssize_t len = read (fd, buf, sizeof buf - 1);
    close (fd);
    if (len <= 3 || memcmp (buf, "tty", 3))
        return -1;
    buf[len] = '\0';
    buf[strcspn (buf, "\n")] = '\0';
    const char *p = buf + 3;
    uint64_t n;
    if (!gl_parse_u64 (&p, &n) || *p || n < 1 || n > VT_MAX)
        return -1;
    return (int) n;
}

/* The modification time of a pattern's directory, {0, 0} when there is
   none, to see whether its matches may have changed; false when the
   directory part has wildcards itself. */
static bool pattern_dir_mtime (const char *pattern, struct timespec *out)
{
    char dir[PATH_SIZE];
    gl_strlcpy (dir, pattern, sizeof dir);
    char *slash = strrchr (dir, '/');
    if (!slash)
        gl_strlcpy (dir, ".", sizeof dir);
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (strpbrk (dir, "*?["))
        return false;
    if (stat (dir, &st) != 0) /* none yet: its coming will change this */
        *out = (struct timespec){ 0, 0 };
    else
        *out = st.st_mtim;
    return true;
}

static void files_clear (idle_t *self)
{
    for (size_t i = 0; i < self->n_files; i++)
        free (self->files[i].path);
    self->n_files = 0;
}

static void files_add (idle_t *self, const char *path)
{
    if (gl_grow (&self->files, &self->cap_files, self->n_files + 1, sizeof *self->files))
        return;
    act_file_t *f = &self->files[self->n_files];
    if (!(f->path = strdup (path)))
        return;
    f->t = file_activity (self, path, &f->vt, &f->dir);
    self->n_files++;
}

/* A full scan is due: every pattern expanded again and every match looked
   at.  False when the last one still holds (and none of the patterns'
   directories changed since). */
static bool full_scan_due (idle_t *self, uint64_t now_ms)
{
    bool due = !self->scanned_ms || now_ms - self->scanned_ms >= FULL_SCAN_MS;
    for (uint32_t i = 0; i < self->config.n_activity; i++) {
        struct timespec t = { 0, 0 };
        bool known = pattern_dir_mtime (self->config.activity[i], &t);
        if (!known || t.tv_sec != self->dir_mtime[i].tv_sec ||
            t.tv_nsec != self->dir_mtime[i].tv_nsec)
            due = true;
        self->dir_mtime[i] = t;
        if (!known) /* a pattern with wildcards in its directory: always */
            self->dir_mtime[i] = (struct timespec){ -1, 0 };
    }
    return due;
}

/* The owner's newest activity on the files found (-1: none), each
   looked at again when again (not just read by a full scan), but a
   console in the background, whose time stands; a directory's entries
   each time, since they come and go. */
static int64_t newest_activity (idle_t *self, bool again)
{
    int64_t newest = -1;
    for (size_t i = 0; i < self->n_files; i++) {
        act_file_t *f = &self->files[i];
        if (f->dir)
            scan_source (self, f->path, &newest);
        else {
            if (again && (f->vt < 0 || f->vt == self->fg_vt))
                f->t = file_activity (self, f->path, &f->vt, &f->dir);
            if (f->t > newest)
                newest = f->t;
        }
    }
    return newest;
}

static uint32_t owner_idle (idle_t *self, uint64_t now_ms, uint64_t wall_s)
{
    int fg = foreground_vt ();
    bool full = full_scan_due (self, now_ms) || fg < 0 || fg != self->fg_vt;
    self->fg_vt = fg;
    if (full) {
        files_clear (self);
        for (uint32_t i = 0; i < self->config.n_activity; i++) {
            glob_t g;
            memset (&g, 0, sizeof g); /* so globfree is safe after any failure */
            if (glob (self->config.activity[i], 0, NULL, &g) == 0)
                for (size_t k = 0; k < g.gl_pathc; k++)
                    files_add (self, g.gl_pathv[k]);
            globfree (&g);
        }
        self->scanned_ms = now_ms ? now_ms : 1;
    }
    int64_t newest = newest_activity (self, !full);
    self->newest = newest;
    if (newest < 0)
        return IDLE_NEVER;
    if ((uint64_t) newest >= wall_s)
        return 0; /* a clock set back, or a touch from the future */
    uint64_t idle = wall_s - (uint64_t) newest;
    return idle < IDLE_NEVER ? (uint32_t) idle : IDLE_NEVER - 1;
}

bool idle_touched (idle_t *self)
{
    return self->scanned_ms && newest_activity (self, true) > self->newest;
}

/* ---- the verdict ---------------------------------------------------------- */

static uint8_t judge (idle_t *self, const gl_res_t *r)
{
    const idle_config_t *c = &self->config;
    if (r->mem_avail_kb < c->min_mem_avail_kb) {
        snprintf (self->reason, sizeof self->reason, "memory available %llu MB < %llu MB",
                  (unsigned long long) r->mem_avail_kb / 1024,
                  (unsigned long long) c->min_mem_avail_kb / 1024);
        return GL_RES_UNAVAILABLE;
    }
    if (r->owner_idle_s < c->owner_idle_min_s) {
        snprintf (self->reason, sizeof self->reason, "owner active %u s ago",
                  (unsigned) r->owner_idle_s);
        return GL_RES_BUSY;
    }
    if (r->owner_load_milli > c->owner_load_max_milli) {
        snprintf (self->reason, sizeof self->reason, "owner load %u.%02u > %u.%02u",
                  (unsigned) r->owner_load_milli / 1000, (unsigned) r->owner_load_milli % 1000 / 10,
                  (unsigned) c->owner_load_max_milli / 1000,
                  (unsigned) c->owner_load_max_milli % 1000 / 10);
        return GL_RES_BUSY;
    }
    snprintf (self->reason, sizeof self->reason, "idle");
    return GL_RES_IDLE;
}

int idle_sample (idle_t *self, uint64_t now_ms, uint64_t wall_s, gl_res_t *out, char *err,
                 size_t errlen)
{
    const char *dir = self->config.proc_dir;
    char path[PATH_SIZE];
    char msg[REASON_SIZE] = "";
    memset (out, 0, sizeof *out);

    snprintf (path, sizeof path, "%s/loadavg", dir);
    read_loadavg (path, &out->load1_milli, msg, sizeof msg);

    snprintf (path, sizeof path, "%s/meminfo", dir);
    read_meminfo (path, &out->mem_total_kb, &out->mem_avail_kb, msg, room (msg, sizeof msg));

    cpu_times_t ct;
    snprintf (path, sizeof path, "%s/stat", dir);
    if (read_stat (path, &ct, msg, room (msg, sizeof msg)) == 0) {
        out->cores = ct.cores;
        measure_load (self, &ct, now_ms, out, msg, room (msg, sizeof msg));
    }
    else
        self->have_prev = false; /* start afresh once it reads again */

    out->owner_idle_s = owner_idle (self, now_ms, wall_s);
    out->guests = (uint32_t) self->n_guests;

    if (msg[0] != '\0') {
        out->state = GL_RES_UNAVAILABLE;
        gl_strlcpy (self->reason, msg, sizeof self->reason);
        if (err && errlen)
            gl_strlcpy (err, msg, errlen);
        return -1;
    }
    out->state = judge (self, out);
    if (err && errlen)
        err[0] = '\0';
    return 0;
}

/* ---- life ----------------------------------------------------------------- */

void idle_config_default (idle_config_t *config)
{
    static const char *activity[] = {
        "/dev/input/event*", /* keyboards, mice, touchpads */
        "/dev/tty[0-9]*",    /* virtual consoles */
        "/dev/pts",          /* terminals: ssh sessions, terminal windows */
    };
    memset (config, 0, sizeof *config);
    snprintf (config->proc_dir, sizeof config->proc_dir, "/proc");
    config->n_activity = sizeof activity / sizeof activity[0];
    for (uint32_t i = 0; i < config->n_activity; i++)
        gl_strlcpy (config->activity[i], activity[i], sizeof config->activity[i]);
    config->owner_idle_min_s = 15 * 60;
    config->owner_load_max_milli = 300;
    config->min_mem_avail_kb = 64 * 1024;
}

idle_t *idle_new (const idle_config_t *config)
{
    if (config->proc_dir[0] == '\0' || config->n_activity > IDLE_PATHS_MAX) {
        errno = EINVAL;
        return NULL;
    }
    idle_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    /* The strings are fixed arrays filled by the caller: make sure they end. */
    self->config.proc_dir[sizeof self->config.proc_dir - 1] = '\0';
    for (uint32_t i = 0; i < self->config.n_activity; i++)
        self->config.activity[i][sizeof self->config.activity[i] - 1] = '\0';
    self->fg_vt = -1;
    self->newest = -1;
    self->hz = sysconf (_SC_CLK_TCK);
    if (self->hz <= 0)
        self->hz = 100; /* USER_HZ on every Linux architecture */
    snprintf (self->reason, sizeof self->reason, "not measured yet");
    return self;
}

void idle_destroy (idle_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->guests);
    files_clear (*self_p);
    free ((*self_p)->files);
    free (*self_p);
    *self_p = NULL;
}

const char *idle_reason (idle_t *self)
{
    return self->reason;
}

const char *idle_state_name (int state)
{
    switch (state) {
        case GL_RES_IDLE: return "idle";
        case GL_RES_BUSY: return "busy";
        case GL_RES_UNAVAILABLE: return "unavailable";
        default: return "unknown";
    }
}

static uint64_t absdiff (uint64_t x, uint64_t y)
{
    return x > y ? x - y : y - x;
}

/* 0 below IDLE_OWNER_OCTAVE_MIN_S seconds, then 1 more at each doubling,
   up to IDLE_OWNER_OCTAVE_MAX_S. */
static unsigned owner_octave (uint32_t idle_s)
{
    unsigned k = 0;
    for (uint64_t s = IDLE_OWNER_OCTAVE_MIN_S; s <= IDLE_OWNER_OCTAVE_MAX_S && idle_s >= s; s *= 2)
        k++;
    return k;
}

bool idle_res_differs (const gl_res_t *a, const gl_res_t *b)
{
    return a->state != b->state || a->cores != b->cores || a->guests != b->guests ||
           a->started != b->started ||
           owner_octave (a->owner_idle_s) != owner_octave (b->owner_idle_s) ||
           absdiff (a->load1_milli, b->load1_milli) >= IDLE_LOAD_STEP_MILLI ||
           absdiff (a->mem_avail_kb, b->mem_avail_kb) * 100 >=
               (a->mem_total_kb > b->mem_total_kb ? a->mem_total_kb : b->mem_total_kb) *
                   IDLE_MEM_STEP_PCT;
}
