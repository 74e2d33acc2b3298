/* file: source: a video file decoded by FFmpeg, paced by its timestamps
 * (realtime) or as fast as it decodes. Decoded YUV goes through the same
 * libyuv path as cameras; pixel formats libyuv lacks are first turned into
 * yuv420p by libswscale. */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdlib.h>

#include "capture/ac_capture_backend.h"
#include "capture/ac_convert.h"

struct filesrc {
    struct ac_capture_settings set;
    struct ac_capture_counters *ctr;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frm, *yuv;    /* yuv: swscale output when needed */
    struct SwsContext *sws;
    int stream, eof_sent;
    int out_w, out_h;
    struct ac_convert conv;
    int conv_w, conv_h, conv_fcc;
    int64_t wall0, pts0, last_due, period_ns;
    int have_pts0;
    uint32_t count;
};

static int av2errno(int e)
{
    return e == AVERROR(ENOMEM) ? -ENOMEM : e < 0 && e > -4096 ? e : -EIO;
}

static void f_close(void *priv)
{
    struct filesrc *f = priv;
    ac_convert_uninit(&f->conv);
    sws_freeContext(f->sws);
    av_frame_free(&f->yuv);
    av_frame_free(&f->frm);
    av_packet_free(&f->pkt);
    avcodec_free_context(&f->dec);
    avformat_close_input(&f->fmt);
    free(f);
}

static int f_open(const char *arg, const struct ac_capture_settings *s, struct ac_capture_counters *ctr,
                  void **priv)
{
    struct filesrc *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->set = *s;
    f->ctr = ctr;
    int rc = avformat_open_input(&f->fmt, arg, NULL, NULL);
    if (rc < 0) {
        f->fmt = NULL;
        goto fail;
    }
    rc = avformat_find_stream_info(f->fmt, NULL);
    if (rc < 0)
        goto fail;
    const AVCodec *codec = NULL;
    rc = av_find_best_stream(f->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (rc < 0)
        goto fail;
    f->stream = rc;
    f->dec = avcodec_alloc_context3(codec);
    f->pkt = av_packet_alloc();
    f->frm = av_frame_alloc();
    if (!f->dec || !f->pkt || !f->frm) {
        rc = AVERROR(ENOMEM);
        goto fail;
    }
    rc = avcodec_parameters_to_context(f->dec, f->fmt->streams[f->stream]->codecpar);
    if (rc >= 0) {
        f->dec->thread_count = 1; /* the Pi's cores belong to the detector */
        rc = avcodec_open2(f->dec, codec, NULL);
    }
    if (rc < 0)
        goto fail;
    *priv = f;
    return 0;
fail:
    f_close(f);
    return av2errno(rc);
}

static int f_init(void *priv, struct ac_capfmt *fmt)
{
    struct filesrc *f = priv;
    if (f->dec->width < 2 || f->dec->height < 2)
        return -EBADMSG;
    AVRational r = f->fmt->streams[f->stream]->avg_frame_rate;
    fmt->fourcc = AC_FMT_YU12;
    fmt->w = f->dec->width;
    fmt->h = f->dec->height;
    fmt->fps_milli = r.den > 0 ? (int)((int64_t)r.num * 1000 / r.den) : 0;
    f->period_ns = fmt->fps_milli > 0 ? 1000000000000LL / fmt->fps_milli : 40000000;
    return 0;
}

static int f_start(void *priv, int out_w, int out_h)
{
    struct filesrc *f = priv;
    f->out_w = out_w;
    f->out_h = out_h;
    f->have_pts0 = 0;
    return 0;
}

static int restart(struct filesrc *f)
{
    int rc = av_seek_frame(f->fmt, f->stream, 0, AVSEEK_FLAG_BACKWARD);
    if (rc < 0)
        rc = avformat_seek_file(f->fmt, -1, INT64_MIN, 0, INT64_MAX, 0);
    if (rc < 0)
        return av2errno(rc);
    avcodec_flush_buffers(f->dec);
    f->eof_sent = 0;
    /* the next lap starts one frame after the last frame's due time */
    f->have_pts0 = 0;
    f->wall0 = f->last_due + f->period_ns;
    return 0;
}

/* Decodes until a frame comes out. */
static int decode_one(struct filesrc *f)
{
    for (int laps = 0;;) {
        int rc = avcodec_receive_frame(f->dec, f->frm);
        if (rc == 0)
            return 0;
        if (rc == AVERROR_EOF) {
            if (!f->set.loop || laps++ > 0) /* a file that yields nothing must not spin */
                return -ENODATA;
            rc = restart(f);
            if (rc)
                return rc;
            continue;
        }
        if (rc != AVERROR(EAGAIN)) {
            atomic_fetch_add(&f->ctr->corrupt, 1);
            return -EAGAIN;
        }
        if (f->eof_sent)
            return -ENODATA;
        rc = av_read_frame(f->fmt, f->pkt);
        if (rc == AVERROR_EOF) {
            avcodec_send_packet(f->dec, NULL); /* drain what the decoder holds */
            f->eof_sent = 1;
            continue;
        }
        if (rc < 0)
            return av2errno(rc);
        if (f->pkt->stream_index == f->stream && avcodec_send_packet(f->dec, f->pkt) < 0)
            atomic_fetch_add(&f->ctr->corrupt, 1); /* a broken packet, not the end */
        av_packet_unref(f->pkt);
    }
}

static int convert(struct filesrc *f, struct ac_frame *dst)
{
    AVFrame *src = f->frm;
    int fmt = src->format, full = 0;
    uint32_t fcc = 0;
    switch (fmt) {
    case AV_PIX_FMT_YUVJ420P: full = 1; /* fall through */
    case AV_PIX_FMT_YUV420P: fcc = AC_FMT_YU12; break;
    case AV_PIX_FMT_NV12: fcc = AC_FMT_NV12; break;
    default:
        break;
    }
    if (src->color_range == AVCOL_RANGE_JPEG)
        full = 1;
    int bt709 = src->colorspace == AVCOL_SPC_BT709;
    if (!fcc) {
        /* formats libyuv has no entry for: to yuv420p with swscale */
        f->sws = sws_getCachedContext(f->sws, src->width, src->height, fmt, src->width, src->height,
                                      AV_PIX_FMT_YUV420P, SWS_POINT, NULL, NULL, NULL);
        if (!f->sws)
            return -ENOTSUP;
        if (!f->yuv || f->yuv->width != src->width || f->yuv->height != src->height) {
            av_frame_free(&f->yuv);
            f->yuv = av_frame_alloc();
            if (!f->yuv)
                return -ENOMEM;
            f->yuv->format = AV_PIX_FMT_YUV420P;
            f->yuv->width = src->width;
            f->yuv->height = src->height;
            if (av_frame_get_buffer(f->yuv, 32) < 0)
                return -ENOMEM;
        }
        sws_scale(f->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, f->yuv->data,
                  f->yuv->linesize);
        src = f->yuv;
        fcc = AC_FMT_YU12;
        full = 0; /* swscale wrote limited range with the source's matrix */
    }
    if (f->conv_w != src->width || f->conv_h != src->height || f->conv_fcc != (int)fcc) {
        ac_convert_uninit(&f->conv);
        int rc = ac_convert_init(&f->conv, fcc, src->width, src->height, 0, f->out_w, f->out_h);
        if (rc)
            return rc;
        f->conv_w = src->width;
        f->conv_h = src->height;
        f->conv_fcc = (int)fcc;
    }
    const uint8_t *pl[3] = {src->data[0], src->data[1], src->data[2]};
    int st[3] = {src->linesize[0], src->linesize[1], src->linesize[2]};
    ac_convert_set_matrix(&f->conv, bt709 ? (full ? AC_YUV_BT709_FULL : AC_YUV_BT709)
                                          : (full ? AC_YUV_BT601_FULL : AC_YUV_BT601));
    return ac_convert_run_planes(&f->conv, pl, st, dst->rgb, dst->stride);
}

static int f_read(void *priv, int timeout_ms, struct ac_frame *dst)
{
    struct filesrc *f = priv;
    (void)timeout_ms; /* a decoded frame is delivered at its time, not dropped */
    int rc = decode_one(f);
    if (rc)
        return rc;
    int64_t now = ac_capture_now_ns();
    int64_t pts = f->frm->best_effort_timestamp;
    AVRational tb = f->fmt->streams[f->stream]->time_base;
    int64_t pts_ns = pts == AV_NOPTS_VALUE ? (int64_t)f->count * f->period_ns
                                           : av_rescale_q(pts, tb, (AVRational){1, 1000000000});
    if (!f->have_pts0) {
        f->have_pts0 = 1;
        f->pts0 = pts_ns;
        if (f->count == 0)
            f->wall0 = now;
    }
    int64_t due = f->wall0 + (pts_ns - f->pts0);
    f->last_due = due;
    if (f->set.realtime && due > now)
        ac_capture_sleep_until(due - now > 2000000000LL ? now + 2000000000LL : due);
    rc = convert(f, dst);
    av_frame_unref(f->frm);
    if (rc) {
        atomic_fetch_add(&f->ctr->corrupt, 1);
        return rc == -ENOMEM ? rc : -EAGAIN;
    }
    dst->ts_ns = due; /* not real time: the clip's own clock from its start */
    dst->src_seq = f->count++;
    return 0;
}

static int f_stop(void *priv)
{
    (void)priv;
    return 0;
}

static void f_uninit(void *priv)
{
    (void)priv;
}

static const struct ac_capture_backend capfile_backend = {
    .name = "file", .can_lose = 0,
    .open = f_open, .init = f_init, .start = f_start, .read = f_read,
    .stop = f_stop, .uninit = f_uninit, .close = f_close,
};

__attribute__((visibility("default"))) const struct ac_capture_plugin ac_capture_plugin_v1 =
    AC_CAPTURE_PLUGIN_INIT(&capfile_backend, NULL);

