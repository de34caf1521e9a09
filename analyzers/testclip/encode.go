package testclip

import (
	"fmt"
	"io"
	"os/exec"
	"strconv"
)

// WriteMP4 encodes the clip to an H.264 MP4 with the ffmpeg CLI (test
// tooling only: the engine itself reaches FFmpeg through pipeline/av).
// Raw RGB frames go through a pipe, so nothing but the MP4 touches disk.
func (c *Clip) WriteMP4(path string) error {
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", c.W, c.H), "-r", strconv.Itoa(c.FPS), "-i", "-",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-g", strconv.Itoa(2*c.FPS), path)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out := &tail{}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ffmpeg: %w", err)
	}
	for i := 0; i < c.Frames(); i++ {
		if _, err := in.Write(c.Frame(i).Data); err != nil {
			_ = cmd.Wait()
			return fmt.Errorf("ffmpeg: writing frame %d: %w: %s", i, err, out.b)
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("ffmpeg: %w: %s", err, out.b)
	}
	return nil
}

type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

var _ io.Writer = (*tail)(nil)
