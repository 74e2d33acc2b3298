// libcamera: source for Pi CSI cameras, behind the same C backend interface.
// libcamera completes requests on its own thread; completed requests go
// through a small queue to read(), which converts and re-queues them.
#include <errno.h>
#include <sys/mman.h>
#include <time.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <libcamera/libcamera.h>

#include "capture/ac_capture_backend.h"
#include "capture/ac_convert.h"

using namespace libcamera;

namespace {

struct Mapping {
    void *base;
    size_t len;
};

struct LibcamSource {
    ac_capture_settings set;
    ac_capture_counters *ctr = nullptr;
    std::unique_ptr<CameraManager> cm;
    std::shared_ptr<Camera> cam;
    bool acquired = false, running = false;
    std::unique_ptr<CameraConfiguration> config;
    Stream *stream = nullptr;
    std::unique_ptr<FrameBufferAllocator> alloc;
    std::vector<std::unique_ptr<Request>> requests;
    std::map<const FrameBuffer *, std::vector<const uint8_t *>> planes;
    std::vector<Mapping> maps;
    ac_capfmt fmt{};
    unsigned stride = 0;
    ac_convert conv{};
    bool conv_ready = false;

    std::mutex lock;
    std::condition_variable cond;
    std::deque<Request *> done;
    bool gone = false;

    void completed(Request *r)
    {
        if (r->status() == Request::RequestCancelled)
            return;
        std::lock_guard<std::mutex> g(lock);
        done.push_back(r);
        cond.notify_one();
    }
    void disconnected()
    {
        std::lock_guard<std::mutex> g(lock);
        gone = true;
        cond.notify_one();
    }
};

// libcamera names formats by DRM fourcc. The YUV ones we convert share the
// V4L2 code; packed RGB is named by its little-endian word, so DRM BGR888 is
// R,G,B in memory (V4L2 RGB3) and RGB888 is B,G,R (V4L2 BGR3).
uint32_t to_capfmt(const PixelFormat &pf)
{
    if (pf == formats::BGR888)
        return AC_FMT_RGB24;
    if (pf == formats::RGB888)
        return AC_FMT_BGR24;
    return pf.fourcc();
}

PixelFormat from_capfmt(uint32_t f)
{
    if (f == AC_FMT_RGB24)
        return formats::BGR888;
    if (f == AC_FMT_BGR24)
        return formats::RGB888;
    return PixelFormat(f);
}

// libcamera logs INFO lines to stderr by default; keep ours readable unless
// the user asked for its logs
void quiet_logs()
{
    setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", 0);
}

int lc_open(const char *arg, const ac_capture_settings *s, ac_capture_counters *ctr, void **priv)
{
    auto *l = new (std::nothrow) LibcamSource();
    if (!l)
        return -ENOMEM;
    l->set = *s;
    l->ctr = ctr;
    quiet_logs();
    l->cm = std::make_unique<CameraManager>();
    int rc = l->cm->start();
    if (rc) {
        delete l;
        return rc < 0 ? rc : -EIO;
    }
    auto cams = l->cm->cameras();
    char *end = nullptr;
    long idx = std::strtol(arg, &end, 10);
    if (end && *end == 0 && idx >= 0 && (size_t)idx < cams.size())
        l->cam = cams[(size_t)idx];
    else if (*arg)
        l->cam = l->cm->get(arg);
    if (!l->cam || l->cam->acquire()) {
        l->cam.reset();
        l->cm->stop();
        delete l;
        return -ENODEV;
    }
    l->acquired = true;
    l->cam->requestCompleted.connect(l, &LibcamSource::completed);
    l->cam->disconnected.connect(l, &LibcamSource::disconnected);
    *priv = l;
    return 0;
}

int lc_init(void *priv, ac_capfmt *out)
{
    auto *l = static_cast<LibcamSource *>(priv);
    l->config = l->cam->generateConfiguration({StreamRole::Viewfinder});
    if (!l->config || l->config->size() != 1)
        return -ENOTSUP;
    StreamConfiguration &sc = l->config->at(0);
    std::vector<ac_capfmt> offers;
    for (const PixelFormat &pf : sc.formats().pixelformats())
        for (const Size &sz : sc.formats().sizes(pf))
            offers.push_back({to_capfmt(pf), (int)sz.width, (int)sz.height, 0});
    ac_capfmt_want want{};
    want.w = l->set.width;
    want.h = l->set.height;
    want.fps = l->set.fps;
    /* CSI pipelines give raw YUV cheaply; MJPEG is a USB camera thing */
    static const uint32_t pref[] = {AC_FMT_YUYV, AC_FMT_NV12, AC_FMT_YU12, AC_FMT_MJPEG};
    want.prefer = l->set.nprefer ? l->set.prefer : pref;
    want.nprefer = l->set.nprefer ? l->set.nprefer : 4;
    ac_capfmt pick;
    if (ac_capfmt_choose(offers.data(), (int)offers.size(), &want, &pick))
        return -ENOTSUP;
    sc.pixelFormat = from_capfmt(pick.fourcc);
    sc.size = Size((unsigned)pick.w, (unsigned)pick.h);
    sc.bufferCount = (unsigned)(l->set.buffers > 1 ? l->set.buffers : 4);
    if (l->config->validate() == CameraConfiguration::Invalid)
        return -EINVAL;
    if (l->cam->configure(l->config.get()))
        return -EIO;
    l->stream = sc.stream();
    l->stride = sc.stride;
    l->fmt = {to_capfmt(sc.pixelFormat), (int)sc.size.width, (int)sc.size.height,
              l->set.fps > 0 ? l->set.fps * 1000 : 0};
    if (!ac_capfmt_supported(l->fmt.fourcc))
        return -ENOTSUP;
    l->alloc = std::make_unique<FrameBufferAllocator>(l->cam);
    if (l->alloc->allocate(l->stream) < 0)
        return -ENOMEM;
    for (const auto &buf : l->alloc->buffers(l->stream)) {
        /* planes of one buffer usually share one dmabuf at offsets */
        std::map<int, size_t> extent;
        for (const auto &p : buf->planes())
            extent[p.fd.get()] = std::max(extent[p.fd.get()], (size_t)p.offset + p.length);
        std::map<int, uint8_t *> base;
        for (auto &e : extent) {
            void *m = mmap(nullptr, e.second, PROT_READ, MAP_SHARED, e.first, 0);
            if (m == MAP_FAILED)
                return -errno;
            l->maps.push_back({m, e.second});
            base[e.first] = static_cast<uint8_t *>(m);
        }
        for (const auto &p : buf->planes())
            l->planes[buf.get()].push_back(base[p.fd.get()] + p.offset);
        std::unique_ptr<Request> r = l->cam->createRequest();
        if (!r || r->addBuffer(l->stream, buf.get()))
            return -ENOMEM;
        l->requests.push_back(std::move(r));
    }
    *out = l->fmt;
    return 0;
}

int lc_start(void *priv, int out_w, int out_h)
{
    auto *l = static_cast<LibcamSource *>(priv);
    if (l->conv_ready)
        ac_convert_uninit(&l->conv);
    int rc = ac_convert_init(&l->conv, l->fmt.fourcc, l->fmt.w, l->fmt.h, (int)l->stride, out_w, out_h);
    if (rc)
        return rc;
    l->conv_ready = true;
    const auto &cs = l->config->at(0).colorSpace;
    if (cs) {
        bool full = cs->range == ColorSpace::Range::Full;
        bool bt709 = cs->ycbcrEncoding == ColorSpace::YcbcrEncoding::Rec709;
        ac_convert_set_matrix(&l->conv, bt709 ? (full ? AC_YUV_BT709_FULL : AC_YUV_BT709)
                                              : (full ? AC_YUV_BT601_FULL : AC_YUV_BT601));
    }
    ControlList controls;
    if (l->set.fps > 0) {
        int64_t d = 1000000 / l->set.fps;
        controls.set(controls::FrameDurationLimits, Span<const int64_t, 2>({d, d}));
    }
    if (l->cam->start(&controls))
        return -EIO;
    l->running = true;
    for (auto &r : l->requests)
        if (l->cam->queueRequest(r.get()))
            return -EIO;
    return 0;
}

int lc_read(void *priv, int timeout_ms, ac_frame *dst)
{
    auto *l = static_cast<LibcamSource *>(priv);
    Request *r;
    {
        std::unique_lock<std::mutex> g(l->lock);
        if (!l->cond.wait_for(g, std::chrono::milliseconds(timeout_ms),
                              [l] { return l->gone || !l->done.empty(); }))
            return -ETIMEDOUT;
        if (l->gone)
            return -ENODEV;
        r = l->done.front();
        l->done.pop_front();
    }
    const FrameBuffer *buf = r->buffers().begin()->second;
    const FrameMetadata &md = buf->metadata();
    const auto &pl = l->planes[buf];
    int rc = -EBADMSG;
    if (md.status == FrameMetadata::FrameSuccess && !pl.empty()) {
        if (pl.size() >= 2 && (l->fmt.fourcc == AC_FMT_NV12 || l->fmt.fourcc == AC_FMT_YU12)) {
            int st[3] = {(int)l->stride, (int)(l->fmt.fourcc == AC_FMT_NV12 ? l->stride : l->stride / 2),
                         (int)l->stride / 2};
            const uint8_t *p[3] = {pl[0], pl[1], pl.size() > 2 ? pl[2] : nullptr};
            rc = ac_convert_run_planes(&l->conv, p, st, dst->rgb, dst->stride);
        } else {
            size_t used = md.planes().size() ? md.planes()[0].bytesused : buf->planes()[0].length;
            rc = ac_convert_run(&l->conv, pl[0], used, dst->rgb, dst->stride);
        }
    }
    dst->ts_ns = ac_capture_now_ns();
    dst->src_seq = md.sequence;
    r->reuse(Request::ReuseBuffers);
    if (l->cam->queueRequest(r))
        return -EIO;
    if (rc) {
        l->ctr->corrupt.fetch_add(1);
        return -EAGAIN;
    }
    return 0;
}

int lc_stop(void *priv)
{
    auto *l = static_cast<LibcamSource *>(priv);
    if (l->running)
        l->cam->stop();
    l->running = false;
    std::lock_guard<std::mutex> g(l->lock);
    l->done.clear();
    return 0;
}

void lc_uninit(void *priv)
{
    auto *l = static_cast<LibcamSource *>(priv);
    l->requests.clear();
    for (auto &m : l->maps)
        munmap(m.base, m.len);
    l->maps.clear();
    l->planes.clear();
    l->alloc.reset();
    l->config.reset();
    if (l->conv_ready)
        ac_convert_uninit(&l->conv);
    l->conv_ready = false;
}

void lc_close(void *priv)
{
    auto *l = static_cast<LibcamSource *>(priv);
    lc_stop(l);
    lc_uninit(l);
    if (l->acquired)
        l->cam->release();
    l->cam.reset();
    l->cm->stop();
    delete l;
}

} // namespace

const struct ac_capture_backend libcam_backend = {
    "libcamera", 1, lc_open, lc_init, lc_start, lc_read, lc_stop, lc_uninit, lc_close,
};

static int libcam_list(void (*cb)(void *ctx, int index, const char *id), void *ctx)
{
    quiet_logs();
    CameraManager cm;
    int rc = cm.start();
    if (rc)
        return rc < 0 ? rc : -EIO;
    auto cams = cm.cameras();
    for (size_t i = 0; i < cams.size(); i++)
        cb(ctx, (int)i, cams[i]->id().c_str());
    int n = (int)cams.size();
    cams.clear(); // cameras must go before their manager stops
    cm.stop();
    return n;
}

extern "C" __attribute__((visibility("default"))) const struct ac_capture_plugin ac_capture_plugin_v1 =
    AC_CAPTURE_PLUGIN_INIT(&libcam_backend, libcam_list);
