/*  cktty -- an interactive program on a terminal (glx -t) for
    t/integ/migrate_tty.sh to move while it waits for its user.

        cktty

    It needs its stdin and stdout to be a terminal (exit 2 otherwise),
    then sets the terminal's modes itself, as an editor or a REPL does:
    no echo, no canonical mode (it gathers its lines itself, a byte at a
    time), ^K as the kill character, signals kept (^C is SIGINT).  For
    each line typed it prints the line's number, its process id, the line,
    whether its terminal is still a terminal with the modes it set (and
    /dev/tty, which it holds open, the same terminal), and the window
    size:

        3 pid=1234 'two' tty=1 modes=1 devtty=1 size=33x77

    The line "quit N" ends it with status N; SIGINT (^C through the
    terminal) ends it with status 3 after "interrupted after N lines".
    Runs as a job, under the shim; needs nothing of glunix's. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_int (int sig)
{
    (void) sig;
    interrupted = 1;
}

static struct termios set;
static int devtty = -1; /* /dev/tty, opened at the start */

/* Are the terminal's modes (as fd sees them) still the ones this
   program set? */
static int modes_kept (int fd)
{
    struct termios now;
    if (tcgetattr (fd, &now))
        return 0;
    return (now.c_lflag & (ECHO | ICANON | ISIG)) == ISIG && now.c_cc[VKILL] == 013 &&
           now.c_cc[VMIN] == 1 && now.c_cc[VTIME] == 0 && now.c_cc[VINTR] == 003;
}

int main (void)
{
    if (!isatty (0) || !isatty (1)) {
        fprintf (stderr, "cktty: stdin and stdout must be a terminal\n");
        return 2;
    }
    if (tcgetattr (0, &set))
        return 2;
    devtty = open ("/dev/tty", O_RDWR | O_CLOEXEC);
    set.c_lflag &= ~(tcflag_t) (ECHO | ICANON);
    set.c_lflag |= ISIG;
    set.c_cc[VKILL] = 013;
    set.c_cc[VMIN] = 1;
    set.c_cc[VTIME] = 0;
    set.c_cc[VINTR] = 003;
    if (tcsetattr (0, TCSANOW, &set))
        return 2;
    struct sigaction sa = { .sa_handler = on_int }; /* no SA_RESTART: read returns EINTR */
    sigaction (SIGINT, &sa, NULL);
    printf ("ready pid=%d tty=1 modes=%d devtty=%d\n", (int) getpid (), modes_kept (0),
            modes_kept (devtty));
    fflush (stdout);
    char line[256];
    size_t len = 0;
    unsigned n = 0;
    while (!interrupted) {
        char c;
        ssize_t k = read (0, &c, 1);
        if (k == 0)
            break;
        if (k < 0)
            continue; /* EINTR: the loop's test says whether to end */
        if (c != '\n' && c != '\r') {
            if (len + 1 < sizeof line)
                line[len++] = c;
            continue;
        }
        line[len] = '\0';
        len = 0;
        n++;
        struct winsize ws = { 0 };
        ioctl (1, TIOCGWINSZ, &ws);
        printf ("%u pid=%d '%s' tty=%d modes=%d devtty=%d size=%ux%u\n", n, (int) getpid (), line,
                isatty (0) && isatty (1), modes_kept (0), modes_kept (devtty), ws.ws_row,
                ws.ws_col);
        fflush (stdout);
        if (!strncmp (line, "quit ", 5))
            return atoi (line + 5);
    }
    printf ("interrupted after %u lines\n", n);
    fflush (stdout);
    return interrupted ? 3 : 0;
}
