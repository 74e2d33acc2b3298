/* Subcommands of the agecam tool. Each lives in its own cmd_*.c file and is
 * listed once in the table in agecam.c. Returns a process exit status. */
#ifndef AC_CMD_H
#define AC_CMD_H

struct ac_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

#endif
