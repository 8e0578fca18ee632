/*  self.c -- what /proc/self/exe names, after a restore.

    The kernel's link from a process to its program is the one thing a
    restore cannot set without privilege (PR_SET_MM_EXE_FILE needs
    CAP_CHECKPOINT_RESTORE): in a restored process /proc/self/exe names
    glrestore.  A program that asks where it lives (readlink of
    /proc/self/exe, as Rust's current_exe and many programs looking for
    their data beside them do) or executes itself again through it would
    find the restorer instead.

    So the library notes, when it starts in a program, the program's
    path and the file the link leads to; that note is in the process's
    memory, which every checkpoint carries.  Once the link leads to
    another file (the process was restored), readlink and readlinkat of
    /proc/self/exe, /proc/thread-self/exe or /proc/<its pid>/exe answer
    the noted path, and the exec wrappers execute that path instead
    (shim_self_exe).  The path must name the same program on the new
    node, as the program's own mappings must (glrestore checks those).

    Still noticeable (glrestore(8)): realpath() and other calls made
    inside libc, raw system calls, open() of /proc/self/exe. */
#include "shim_impl.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define API __attribute__ ((visibility ("default")))

typedef ssize_t (*readlink_fn) (const char *, char *, size_t);
typedef ssize_t (*readlinkat_fn) (int, const char *, char *, size_t);
static readlink_fn real_readlink;
static readlinkat_fn real_readlinkat;

static struct {
    char path[4096]; /* the program, as the link named it when it started */
    size_t len;
    dev_t dev; /* the file the link led to */
    ino_t ino;
    bool known;
} exe;

/* Before shim.c's constructor (101 runs before the default): that one
   takes the checkpoint signal, and a checkpoint judging a process's
   descriptors reads their links through readlink. */
__attribute__ ((constructor (101))) static void self_init (void)
{
    real_readlink = (readlink_fn) dlsym (RTLD_NEXT, "readlink");
    real_readlinkat = (readlinkat_fn) dlsym (RTLD_NEXT, "readlinkat");
    struct stat st;
    ssize_t n =
        real_readlink ? real_readlink ("/proc/self/exe", exe.path, sizeof exe.path - 1) : -1;
    if (n <= 0 || stat ("/proc/self/exe", &st))
        return;
    exe.path[n] = '\0';
    exe.len = (size_t) n;
    exe.dev = st.st_dev;
    exe.ino = st.st_ino;
    exe.known = true;
}

/* The link, named one of the ways a process names its own. */
static bool names_self (const char *path)
{
    if (!path || strncmp (path, "/proc/", 6))
        return false;
    const char *p = path + 6;
    if (!strcmp (p, "self/exe") || !strcmp (p, "thread-self/exe"))
        return true;
    char own[40];
    snprintf (own, sizeof own, "%ld/exe", (long) syscall (SYS_getpid));
    return !strcmp (p, own);
}

/* The link leads elsewhere than when the program started: restored. */
static bool moved (void)
{
    struct stat st;
    return exe.known &&
           (stat ("/proc/self/exe", &st) || st.st_dev != exe.dev || st.st_ino != exe.ino);
}

const char *shim_self_exe (const char *path)
{
    return names_self (path) && moved () ? exe.path : path;
}

static ssize_t answer (char *buf, size_t size)
{
    if (size == 0) {
        errno = EINVAL;
        return -1;
    }
    size_t n = exe.len < size ? exe.len : size; /* readlink cuts and adds no NUL */
    memcpy (buf, exe.path, n);
    return (ssize_t) n;
}

API ssize_t readlink (const char *path, char *buf, size_t size)
{
    if (names_self (path) && moved ())
        return answer (buf, size);
    if (!real_readlink) /* before the constructor: another library's */
        return syscall (SYS_readlinkat, AT_FDCWD, path, buf, size);
    return real_readlink (path, buf, size);
}

API ssize_t readlinkat (int dirfd, const char *path, char *buf, size_t size)
{
    if (names_self (path) && moved ()) /* absolute: dirfd does not matter */
        return answer (buf, size);
    if (!real_readlinkat)
        return syscall (SYS_readlinkat, dirfd, path, buf, size);
    return real_readlinkat (dirfd, path, buf, size);
}
