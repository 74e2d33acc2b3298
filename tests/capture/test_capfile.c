/* file: source (FFmpeg): makes a small MPEG-4 clip whose frame k is grey
 * level 16 + 6k, then checks order, size, end of stream, looping, real-time
 * pacing and that broken files fail cleanly. */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/ac_capture.h"
#include "../common/check.h"

#define NFRAMES 30
#define FPS 10

static int encode_clip(const char *path)
{
    AVFormatContext *oc = NULL;
    int rc = avformat_alloc_output_context2(&oc, NULL, NULL, path);
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (rc < 0 || !codec)
        return -1;
    AVStream *st = avformat_new_stream(oc, NULL);
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    enc->width = 320;
    enc->height = 240;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = (AVRational){1, FPS};
    enc->framerate = (AVRational){FPS, 1};
    enc->gop_size = 10;
    enc->bit_rate = 400000;
    if (oc->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    rc = avcodec_open2(enc, codec, NULL);
    if (rc >= 0)
        rc = avcodec_parameters_from_context(st->codecpar, enc);
    st->time_base = enc->time_base;
    if (rc >= 0)
        rc = avio_open(&oc->pb, path, AVIO_FLAG_WRITE);
    if (rc >= 0)
        rc = avformat_write_header(oc, NULL);
    AVFrame *fr = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    fr->format = enc->pix_fmt;
    fr->width = enc->width;
    fr->height = enc->height;
    if (rc >= 0)
        rc = av_frame_get_buffer(fr, 0);
    for (int i = 0; rc >= 0 && i <= NFRAMES; i++) {
        AVFrame *in = NULL;
        if (i < NFRAMES) {
            av_frame_make_writable(fr);
            for (int y = 0; y < 240; y++)
                memset(fr->data[0] + y * fr->linesize[0], 16 + 6 * i, 320);
            for (int y = 0; y < 120; y++) {
                memset(fr->data[1] + y * fr->linesize[1], 128, 160);
                memset(fr->data[2] + y * fr->linesize[2], 128, 160);
            }
            fr->pts = i;
            in = fr;
        }
        rc = avcodec_send_frame(enc, in);
        while (rc >= 0) {
            int r = avcodec_receive_packet(enc, pkt);
            if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
                break;
            pkt->duration = 1; /* else mp4 ends the last frame at its own start */
            av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
            pkt->stream_index = st->index;
            rc = av_interleaved_write_frame(oc, pkt);
        }
    }
    if (rc >= 0)
        rc = av_write_trailer(oc);
    av_packet_free(&pkt);
    av_frame_free(&fr);
    avcodec_free_context(&enc);
    if (oc->pb)
        avio_closep(&oc->pb);
    avformat_free_context(oc);
    return rc < 0 ? -1 : 0;
}

static struct ac_capture *open_clip(const char *uri, int realtime, int loop, int *rc)
{
    struct ac_capture_settings s;
    ac_capture_settings_default(&s);
    s.width = 160;
    s.height = 120;
    s.realtime = realtime;
    s.loop = loop;
    struct ac_capture *c = NULL;
    *rc = ac_capture_open(uri, &s, &c);
    if (!*rc)
        *rc = ac_capture_init(c);
    if (!*rc)
        *rc = ac_capture_start(c);
    if (*rc) {
        ac_capture_close(c);
        return NULL;
    }
    return c;
}

/* decoded grey level -> frame index (limited-range Y 16+6k) */
static int frame_index(const struct ac_frame *f)
{
    int v = f->rgb[(size_t)(f->h / 2) * f->stride + 3 * (f->w / 2)];
    double y = v / 1.164 + 16; /* undo the limited-range expansion */
    return (int)((y - 16) / 6 + 0.5);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* `agecam capture --source file:CLIP --frames 3 --out DIR`: the installer's
 * check, on a real video file; three JPEGs come out. */
static void test_cli(const char *agecam, const char *clip, const char *dir)
{
    char cmd[2048], out[700], jpg[800];
    snprintf(out, sizeof out, "%s/frames", dir);
    snprintf(cmd, sizeof cmd, "'%s' capture --source 'file:%s' --frames 3 --out '%s' >/dev/null",
             agecam, clip, out);
    CHECK_EQ(system(cmd), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(jpg, sizeof jpg, "%s/frame_%05d.jpg", out, i);
        CHECK_EQ(access(jpg, R_OK) == 0, i < 3);
        unlink(jpg);
    }
    rmdir(out);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/agecam-test-capfile-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char clip[600], uri[700];
    snprintf(clip, sizeof clip, "%s/clip.mp4", dir);
    snprintf(uri, sizeof uri, "file:%s", clip);
    CHECK_EQ(encode_clip(clip), 0);

    int rc;
    struct ac_capture *c = open_clip(uri, 0, 0, &rc);
    CHECK_EQ(rc, 0);
    int n = 0, in_order = 1, last = -1;
    struct ac_frame *f;
    while (c && (rc = ac_capture_read(c, 1000, &f)) != -ENODATA) {
        if (rc == -EAGAIN)
            continue;
        CHECK_EQ(rc, 0);
        if (rc)
            break;
        CHECK_EQ(f->w, 160);
        CHECK_EQ(f->h, 120);
        int idx = frame_index(f);
        if (idx != last + 1) {
            printf("frame %d decoded as index %d\n", n, idx);
            in_order = 0;
        }
        last = idx;
        n++;
        ac_frame_unref(f);
    }
    CHECK_EQ(n, NFRAMES);
    CHECK(in_order);
    struct ac_capture_stats st;
    if (c) {
        ac_capture_get_stats(c, &st);
        CHECK_EQ(st.src_w, 320);
        CHECK_EQ(st.src_h, 240);
        CHECK_EQ(st.fps_milli, FPS * 1000);
        CHECK_EQ(st.corrupt, 0);
    }
    ac_capture_close(c);

    /* looping: after the last frame comes the first again */
    c = open_clip(uri, 0, 1, &rc);
    int wrapped = 0;
    last = -1;
    for (int i = 0; c && i < NFRAMES + 5; i++) {
        while ((rc = ac_capture_read(c, 1000, &f)) == -EAGAIN)
            ;
        CHECK_EQ(rc, 0);
        if (rc)
            break;
        int idx = frame_index(f);
        if (idx < last)
            wrapped++;
        last = idx;
        ac_frame_unref(f);
    }
    CHECK_EQ(wrapped, 1);
    ac_capture_close(c);

    /* real-time pacing: 6 frames at 10 fps cannot come faster than 0.5 s */
    c = open_clip(uri, 1, 0, &rc);
    int64_t t0 = now_ms();
    int64_t ts0 = 0, ts5 = 0;
    for (int i = 0; c && i < 6; i++) {
        while ((rc = ac_capture_read(c, 1000, &f)) == -EAGAIN)
            ;
        if (rc)
            break;
        if (i == 0)
            ts0 = f->ts_ns;
        ts5 = f->ts_ns;
        ac_frame_unref(f);
    }
    int64_t el = now_ms() - t0;
    printf("6 paced frames took %lld ms, timestamps span %lld ms\n", (long long)el,
           (long long)((ts5 - ts0) / 1000000));
    CHECK(el >= 480);
    CHECK((ts5 - ts0) / 1000000 == 500);
    ac_capture_close(c);

    /* broken files fail at open with an error, not a crash */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/truncated.mp4", dir);
    FILE *in = fopen(clip, "rb"), *out = fopen(bad, "wb");
    char buf[4096];
    size_t got = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (out) {
        fwrite(buf, 1, got / 2, out);
        fclose(out);
    }
    if (in)
        fclose(in);
    snprintf(uri, sizeof uri, "file:%s", bad);
    c = open_clip(uri, 0, 0, &rc);
    CHECK(c == NULL && rc < 0);
    snprintf(bad, sizeof bad, "%s/garbage.mp4", dir);
    out = fopen(bad, "wb");
    for (int i = 0; out && i < 1000; i++)
        fputc(i * 7 & 0xff, out);
    if (out)
        fclose(out);
    snprintf(uri, sizeof uri, "file:%s", bad);
    c = open_clip(uri, 0, 0, &rc);
    CHECK(c == NULL && rc < 0);
    c = open_clip("file:/nonexistent/agecam.mp4", 0, 0, &rc);
    CHECK(c == NULL && rc < 0);

    if (argc > 1)
        test_cli(argv[1], clip, dir);

    /* AGECAM_KEEP_CLIP=PATH keeps the clip for trying `agecam capture` by hand */
    const char *keep = getenv("AGECAM_KEEP_CLIP");
    if (!keep || rename(clip, keep))
        unlink(clip);
    snprintf(bad, sizeof bad, "%s/truncated.mp4", dir);
    unlink(bad);
    snprintf(bad, sizeof bad, "%s/garbage.mp4", dir);
    unlink(bad);
    rmdir(dir);
    return check_done("test_capfile");
}
