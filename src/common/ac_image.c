#include "common/ac_image.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

void ac_image_free(struct ac_image *img)
{
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

/* A failed decode keeps the buffer (for reuse) but shows no image. */
static void unset(struct ac_image *img)
{
    img->w = img->h = img->stride = 0;
}

static int alloc_rgb(struct ac_image *img, int w, int h)
{
    if (w <= 0 || h <= 0 || w > AC_IMAGE_MAX_SIDE || h > AC_IMAGE_MAX_SIDE)
        return -E2BIG;
    size_t need = (size_t)3 * w * h;
    if (need > img->cap) {
        uint8_t *p = malloc(need);
        if (!p)
            return -ENOMEM;
        free(img->rgb);
        img->rgb = p;
        img->cap = need;
    }
    img->w = w;
    img->h = h;
    img->stride = 3 * w;
    return 0;
}

/* ---- JPEG ---- */
struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
};

static void jerr_exit(j_common_ptr cinfo)
{
    struct jerr *e = (struct jerr *)cinfo->err;
    longjmp(e->jb, 1);
}

static void jerr_quiet(j_common_ptr cinfo) { (void)cinfo; }

static int decode_jpeg(const uint8_t *data, size_t len, struct ac_image *img)
{
    struct jpeg_decompress_struct ci;
    struct jerr je;
    /* volatile: read after longjmp */
    volatile int rc = -EINVAL;
    ci.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jerr_exit;
    je.mgr.output_message = jerr_quiet;
    jpeg_create_decompress(&ci);
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        unset(img);
        return rc;
    }
    jpeg_mem_src(&ci, data, (unsigned long)len);
    if (jpeg_read_header(&ci, TRUE) != JPEG_HEADER_OK)
        longjmp(je.jb, 1);
    /* refuse oversized images before libjpeg allocates for them, and cap its
     * own memory: a tiny progressive file can declare a huge image whose
     * coefficient buffers would take hundreds of MB and seconds to clear
     * (found by fuzz_image) */
    if (ci.image_width > AC_IMAGE_MAX_SIDE || ci.image_height > AC_IMAGE_MAX_SIDE) {
        rc = -E2BIG;
        longjmp(je.jb, 1);
    }
    ci.mem->max_memory_to_use = AC_IMAGE_MAX_JPEG_MEM;
    ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    if (ci.output_components != 3) {
        longjmp(je.jb, 1);
    }
    int r = alloc_rgb(img, (int)ci.output_width, (int)ci.output_height);
    if (r) {
        rc = r;
        longjmp(je.jb, 1);
    }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = img->rgb + (size_t)ci.output_scanline * img->stride;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    /* libjpeg pads a truncated stream with grey and only warns; count it */
    int truncated = je.mgr.num_warnings > 0;
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    if (truncated) {
        unset(img);
        return -EINVAL;
    }
    return 0;
}

/* ---- PNG ---- */
struct png_src {
    const uint8_t *p;
    size_t left;
};

static void png_read_cb(png_structp png, png_bytep out, png_size_t n)
{
    struct png_src *s = png_get_io_ptr(png);
    if (n > s->left)
        png_error(png, "truncated");
    memcpy(out, s->p, n);
    s->p += n;
    s->left -= n;
}

static void png_warn_quiet(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_err_cb(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static int decode_png(const uint8_t *data, size_t len, struct ac_image *img)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, png_err_cb, png_warn_quiet);
    if (!png)
        return -ENOMEM;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return -ENOMEM;
    }
    struct png_src src = {data, len};
    volatile int rc = -EINVAL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        unset(img);
        return rc;
    }
    png_set_read_fn(png, &src, png_read_cb);
    png_set_user_limits(png, AC_IMAGE_MAX_SIDE, AC_IMAGE_MAX_SIDE);
    png_read_info(png, info);
    int ct = png_get_color_type(png, info);
    if (png_get_bit_depth(png, info) == 16)
        png_set_strip_16(png);
    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    if (png_get_bit_depth(png, info) < 8)
        png_set_packing(png);
    if (ct & PNG_COLOR_MASK_ALPHA)
        png_set_strip_alpha(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_strip_alpha(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (png_size_t)png_get_image_width(png, info) * 3)
        png_longjmp(png, 1);
    int r = alloc_rgb(img, (int)png_get_image_width(png, info), (int)png_get_image_height(png, info));
    if (r) {
        rc = r;
        png_longjmp(png, 1);
    }
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < img->h; y++)
            png_read_row(png, img->rgb + (size_t)y * img->stride, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

int ac_image_decode_into(const uint8_t *data, size_t len, struct ac_image *img)
{
    unset(img);
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, len, img);
    if (len >= 8 && !png_sig_cmp(data, 0, 8))
        return decode_png(data, len, img);
    return -EINVAL;
}

int ac_image_decode(const uint8_t *data, size_t len, struct ac_image *img)
{
    memset(img, 0, sizeof *img);
    int rc = ac_image_decode_into(data, len, img);
    if (rc)
        ac_image_free(img);
    return rc;
}

void ac_filebuf_free(struct ac_filebuf *fb)
{
    free(fb->p);
    fb->p = NULL;
    fb->cap = 0;
}

/* The whole file into fb; *len its size. Plain read(2): no stdio buffer. */
static int read_file(const char *path, struct ac_filebuf *fb, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        rc = -EIO;
    } else if (st.st_size > 64L * 1024 * 1024) {
        rc = -E2BIG;
    } else if ((size_t)st.st_size + 1 > fb->cap) {
        uint8_t *p = malloc((size_t)st.st_size + 1);
        if (!p) {
            rc = -ENOMEM;
        } else {
            free(fb->p);
            fb->p = p;
            fb->cap = (size_t)st.st_size + 1;
        }
    }
    size_t got = 0;
    while (!rc && got < (size_t)st.st_size) {
        ssize_t n = read(fd, fb->p + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -EIO; /* error, or the file shrank under us */
        else
            got += (size_t)n;
    }
    close(fd);
    *len = got;
    return rc;
}

int ac_image_load_into(const char *path, struct ac_image *img, struct ac_filebuf *fb)
{
    size_t len = 0;
    int rc = read_file(path, fb, &len);
    if (rc) {
        unset(img);
        return rc;
    }
    return ac_image_decode_into(fb->p, len, img);
}

int ac_image_load(const char *path, struct ac_image *img)
{
    memset(img, 0, sizeof *img);
    struct ac_filebuf fb = {0};
    int rc = ac_image_load_into(path, img, &fb);
    ac_filebuf_free(&fb);
    if (rc)
        ac_image_free(img);
    return rc;
}

int ac_image_save_jpeg(const char *path, const uint8_t *rgb, int w, int h, int stride, int quality)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    struct jpeg_compress_struct ci;
    struct jerr je;
    ci.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jerr_exit;
    jpeg_create_compress(&ci);
    if (setjmp(je.jb)) {
        jpeg_destroy_compress(&ci);
        fclose(f);
        return -EIO;
    }
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)ci.next_scanline * stride);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return fclose(f) ? -errno : 0;
}
