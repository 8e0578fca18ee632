/*  top.h -- `glpeer top`: a live view of the cluster, as top and MOSIX's
    mosmon give one of a machine.

    Where it reads.  From the agent's view in shared memory (core/view.h),
    the same reader libglunix and the shim use, not from the control
    socket: a refresh costs a copy under the seqlock, nothing the agent has
    to answer, so top can run beside a busy agent every second for days.
    What it shows is what the view holds: every member the agent knows
    (state, its idle estimate, load, free memory, guests, clock offset),
    and the job table of this node alone, the jobs running here (with
    their home); the jobs of other nodes appear there only as counts of
    guests.

    The terminal.  Plain ANSI escapes (the alternate screen, absolute
    cursor moves, erase in line) and termios, no curses: glpeer links no
    curses library, and these few sequences are what every terminal an
    ssh session may bring understands.  Each row is cut to the window's
    width and written at its own position, so nothing ever wraps or
    scrolls.  Signals come through the event loop's signalfd, so every way
    out (q, SIGINT, SIGTERM, SIGHUP, SIGQUIT, an agent that goes away) runs
    the one path that gives the terminal back as it was; SIGTSTP gives it
    back before stopping and takes it again on return.  Batch mode (-b)
    writes plain frames to stdout with no terminal control, for scripts.

    See glpeer(8), "glpeer top". */
#ifndef GL_TOP_H
#define GL_TOP_H

/* `glpeer top [OPTIONS]`, argv[0] being "top".  The exit status: 0 for q
   or after -n frames, 1 when the agent went away or the view cannot be
   read, 2 for a usage error, 128 + the signal's number for a signal that
   ended it. */
int top_main (int argc, char **argv);

#endif
