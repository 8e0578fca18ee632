/*  fd.h -- file descriptor helpers. */
#ifndef GL_FD_H
#define GL_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Writes all n bytes of p to fd: goes on after EINTR and short writes,
   and waits in poll when a non-blocking fd is full.  0, or -1 with errno
   set. */
int gl_write_all (int fd, const void *p, size_t n);

/* Reads until n bytes of fd are in p or its end: how many came (fewer
   than n only at the end), or -1 with errno set.  Goes on after EINTR. */
ssize_t gl_read_full (int fd, void *p, size_t n);

/* The whole of a small file (a /proc file) into buf, NUL-terminated,
   cut at cap - 1 bytes: its length, or -1 with errno set.  No
   allocation, no stdio: safe in a signal handler. */
ssize_t gl_read_file (const char *path, char *buf, size_t cap);
/* A field of a /proc status file read whole ("VmLck:", "Seccomp:"), its
   number in base: true with *v, false when the file has no such line. */
bool gl_status_field (const char *status, const char *name, int base, uint64_t *v);
/* The parent of process pid, from /proc/<pid>/stat; 0 when it cannot
   be read.  Signal-handler safe, as gl_read_file. */
pid_t gl_parent_of (pid_t pid);

/* "IP:PORT", or "[IP]:PORT" for IPv6 (a numeric address and a port
   1..65535, as a move's or a restart's restorer says where it listens),
   into sa and len.  false when it is not exactly that. */
bool gl_addr_parse (const char *text, struct sockaddr_storage *sa, socklen_t *len);

/* Sends len bytes of buf on unix socket sock as one message, with the
   descriptors fds[0..n_fds) (SCM_RIGHTS, at most GL_SEND_FDS_MAX), going
   on after EINTR, never raising SIGPIPE.  What sendmsg(2) returns. */
#define GL_SEND_FDS_MAX 4
ssize_t gl_send_fds (int sock, const void *buf, size_t len, const int *fds, size_t n_fds);

/* The entry of directory path whose position (getdents64's d_off: where
   reading goes on after it) is pos, its name into name (cap bytes,
   NUL-terminated): 0, or -1 when no entry has it or the directory
   cannot be read (errno).  A directory being read is at such a position
   (the last entry it gave), which names the same point in the same
   directory only: a checkpoint carries the name to check.  By raw
   getdents64 on a descriptor of its own: safe in a signal handler. */
int gl_dir_entry_at (const char *path, uint64_t pos, char *name, size_t cap);

/* Makes fd non-blocking.  0, or -1 with errno set. */
int gl_set_nonblock (int fd);

#endif
