package facekit

import (
	"image"
	"testing"
)

// nms: overlapping boxes keep the best; a box mostly inside a better one
// is dropped even with a low IoU; two separate faces and a face only
// partly overlapping another stay.
func TestNMS(t *testing.T) {
	big := Face{Box: image.Rect(100, 100, 200, 220), Score: 0.95}
	cases := []struct {
		name string
		in   []Face
		want int
	}{
		{"same face twice", []Face{big, {Box: image.Rect(104, 102, 204, 224), Score: 0.8}}, 1},
		{"small box inside the face (IoU 0.17)", []Face{{Box: image.Rect(130, 140, 175, 185), Score: 0.75}, big}, 1},
		{"two people side by side", []Face{big, {Box: image.Rect(240, 110, 330, 215), Score: 0.9}}, 2},
		{"a face half behind another", []Face{big, {Box: image.Rect(170, 90, 250, 190), Score: 0.8}}, 2},
	}
	for _, c := range cases {
		if got := nms(append([]Face(nil), c.in...), 0.4); len(got) != c.want {
			t.Errorf("%s: %d faces, want %d (%v)", c.name, len(got), c.want, got)
		} else if got[0].Score != 0.95 {
			t.Errorf("%s: kept %v first, want the best score", c.name, got[0])
		}
	}
}
