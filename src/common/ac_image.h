/* Still images: JPEG (libjpeg-turbo) and PNG (libpng) to packed RGB24 and
 * back. Used by tools and, through the reusing *_into calls, by the dir:
 * source's per-frame loop, which must not allocate once warmed up. */
#ifndef AC_IMAGE_H
#define AC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct ac_image {
    int w, h, stride; /* stride in bytes, >= 3*w */
    uint8_t *rgb;     /* owned; free with ac_image_free */
    size_t cap;       /* bytes allocated at rgb: the *_into calls grow only */
};

/* A file's bytes, kept between ac_image_load_into calls (grows only). */
struct ac_filebuf {
    uint8_t *p;
    size_t cap;
};

/* Largest image accepted (either side), so a hostile header cannot ask for
 * a huge allocation: 4096 covers 4K camera modes (3840x2160, 4096x2160). */
#define AC_IMAGE_MAX_SIDE 4096
/* libjpeg's own working memory (progressive images keep every coefficient:
 * ~6 bytes a pixel at 4:4:4); past it decoding fails cleanly. */
#define AC_IMAGE_MAX_JPEG_MEM (128L << 20)

/* Returns 0 or -errno (-EINVAL for undecodable data, -E2BIG past the limit).
 * On error *img is left empty. */
int ac_image_load(const char *path, struct ac_image *img);
int ac_image_decode(const uint8_t *data, size_t len, struct ac_image *img);
int ac_image_save_jpeg(const char *path, const uint8_t *rgb, int w, int h, int stride, int quality);
void ac_image_free(struct ac_image *img);
/* As above, but decoding into img's existing buffer when it is big enough and
 * reading the file through fb, so a stream of same-sized images allocates
 * nothing after the first (libjpeg's small working pools aside). On error
 * img->w = img->h = 0 and both buffers stay allocated for the next call. */
int ac_image_decode_into(const uint8_t *data, size_t len, struct ac_image *img);
int ac_image_load_into(const char *path, struct ac_image *img, struct ac_filebuf *fb);
void ac_filebuf_free(struct ac_filebuf *fb);

#endif
