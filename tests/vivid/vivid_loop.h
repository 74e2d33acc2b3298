/* The vivid loop checks (see vivid_loop.c). */
#ifndef VIVID_LOOP_H
#define VIVID_LOOP_H

/* one still picture through the loop, read back pixel-identical */
int vivid_check_loop(const char *image);
/* every frame of a dir:/file: source through the loop, seen in order */
int vivid_check_feed(const char *src);
/* plays a dir:/file: source into the loop until SIGTERM, one frame further
 * per frame agecamd has processed (read from vivid_ring's state file) */
int vivid_pump(const char *src, const char *progress, const char *ready, const char *done);

#endif
