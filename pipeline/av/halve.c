// A fast path for the most common conversion: a 4:2:0 picture halved both
// ways (720p to 640x360 for analysis). It filters exactly as swscale's
// SWS_BILINEAR does when it shrinks by two, a [1 3 3 1]/8 tent each way
// centred between source pixels with edges clamped, but without swscale's
// generic machinery (about four times cheaper), and writes the tightly
// packed planes straight into the caller's buffer.
#include <stdlib.h>
#include <libavutil/pixfmt.h>

#include "helpers.h"

#pragma GCC optimize("O3")

// On x86-64 Linux, build an AVX2 variant too; the loader picks the one the
// CPU supports.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define WITNESS_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WITNESS_CLONES
#endif

// halve_plane shrinks one plane of sw x sh pixels to dw x dh with
// sw == 2*dw and sh == 2*dh. tmp holds sw + 2 column sums.
WITNESS_CLONES
static void halve_plane(const uint8_t *src, int ls, int sw, int sh,
		uint8_t *restrict dst, int dw, int dh, uint16_t *restrict tmp) {
	uint16_t *t = tmp + 1; // t[-1] and t[sw] are the clamped edges
	for (int j = 0; j < dh; j++) {
		int y0 = 2 * j - 1, y3 = 2 * j + 2;
		if (y0 < 0) {
			y0 = 0;
		}
		if (y3 > sh - 1) {
			y3 = sh - 1;
		}
		const uint8_t *restrict r0 = src + (ptrdiff_t)y0 * ls;
		const uint8_t *restrict r1 = src + (ptrdiff_t)(2 * j) * ls;
		const uint8_t *restrict r2 = src + (ptrdiff_t)(2 * j + 1) * ls;
		const uint8_t *restrict r3 = src + (ptrdiff_t)y3 * ls;
		for (int x = 0; x < sw; x++) {
			t[x] = (uint16_t)(r0[x] + 3 * (r1[x] + r2[x]) + r3[x]);
		}
		t[-1] = t[0];
		t[sw] = t[sw - 1];
		uint8_t *restrict d = dst + (ptrdiff_t)j * dw;
		for (int i = 0; i < dw; i++) {
			const uint16_t *p = t + 2 * i;
			d[i] = (uint8_t)((p[-1] + 3 * (p[0] + p[1]) + p[2] + 32) >> 6);
		}
	}
}

int witness_halve_yuv420p(const AVFrame *f, uint8_t *dst, int size, int dw, int dh) {
	if (f->format != AV_PIX_FMT_YUV420P || f->color_range == AVCOL_RANGE_JPEG ||
			dw < 2 || dh < 2 || (dw & 1) || (dh & 1) || f->width != 2 * dw || f->height != 2 * dh ||
			!f->data[0] || !f->data[1] || !f->data[2] ||
			f->linesize[0] < f->width || f->linesize[1] < dw || f->linesize[2] < dw) {
		return -1;
	}
	int cw = dw / 2, ch = dh / 2;
	if (size < dw * dh + 2 * cw * ch) {
		return -1;
	}
	uint16_t *tmp = malloc(sizeof(uint16_t) * (size_t)(f->width + 2));
	if (!tmp) {
		return -1;
	}
	halve_plane(f->data[0], f->linesize[0], f->width, f->height, dst, dw, dh, tmp);
	dst += dw * dh;
	halve_plane(f->data[1], f->linesize[1], dw, dh, dst, cw, ch, tmp);
	dst += cw * ch;
	halve_plane(f->data[2], f->linesize[2], dw, dh, dst, cw, ch, tmp);
	free(tmp);
	return 0;
}
