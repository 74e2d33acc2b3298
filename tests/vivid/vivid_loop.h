/* The vivid loop checks (see vivid_loop.c). */
#ifndef VIVID_LOOP_H
#define VIVID_LOOP_H

/* one still picture through the loop, read back pixel-identical */
int vivid_check_loop(const char *image);
/* every frame of a dir:/file: source through the loop, seen in order */
int vivid_check_feed(const char *src);

#endif
