/* agecam COMMAND: the tool for everything that is not the daemon. */
#include <stdio.h>
#include <string.h>

#include "tools/ac_cmd.h"

/* Each command adds one declaration and one table row. */
#define AC_CMD_LIST(X) \
    X(ac_cmd_estimate, "estimate", "age of face crops given as image files") \
    X(ac_cmd_eval, "eval", "age error of a model over a labelled image folder") \
    X(ac_cmd_quantize, "quantize", "int8 age model calibrated on labelled face crops") \
    X(ac_cmd_bench, "bench", "latency, size and memory of the age nets and other parts") \
    X(ac_cmd_detect, "detect", "faces, scores and landmarks in an image") \
    X(ac_cmd_eval_det, "eval-det", "detector AP per face-size bucket on a labels file") \
    X(ac_cmd_faces, "faces", "detect, filter, align and age every face in an image") \
    X(ac_cmd_capture, "capture", "list cameras, grab frames from a camera, video or image folder") \
    X(ac_cmd_tail, "tail", "follow face events in the ring (like tail -f)") \
    X(ac_cmd_stats, "stats", "crowd-age statistics per time window, Prometheus metrics")

#define AC_DECLARE(fn, name, summary) int fn(int argc, char **argv);
AC_CMD_LIST(AC_DECLARE)

static const struct ac_cmd commands[] = {
#define AC_ROW(fn, name, summary) {name, summary, fn},
    AC_CMD_LIST(AC_ROW)
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: agecam COMMAND [options]   (agecam COMMAND --help)\n\ncommands:\n");
    for (const struct ac_cmd *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const struct ac_cmd *c = commands; c->name; c++)
        if (!strcmp(c->name, argv[1]))
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "agecam: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
