package analyzers

// WantsAudio reports whether any of the Host's analyzers takes audio, so a
// live caller decodes a participant's microphone only when it is used.
func (h *Host) WantsAudio() bool {
	for _, w := range h.workers {
		if a, ok := w.a.(interface{ WantsAudio() bool }); ok && a.WantsAudio() {
			return true
		}
	}
	return false
}
