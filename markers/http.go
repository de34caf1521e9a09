package markers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Handler serves the manual-marker API:
//
//	GET    /recordings/{rec}/markers            list (JSON)
//	POST   /recordings/{rec}/markers            {"at_ms":1234,"label":"ID shown","note":"","author":"agent-7"}
//	DELETE /recordings/{rec}/markers/{id}
//	GET    /recordings/{rec}/chapters.vtt?duration_ms=N   WebVTT chapters
//
// Authentication is the embedding server's job (wrap the handler).
func Handler(s Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /recordings/{rec}/markers", func(w http.ResponseWriter, r *http.Request) {
		ms, err := s.List(r.Context(), r.PathValue("rec"))
		if err != nil {
			httpError(w, err)
			return
		}
		if ms == nil {
			ms = []Marker{}
		}
		writeJSON(w, http.StatusOK, ms)
	})
	mux.HandleFunc("POST /recordings/{rec}/markers", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			AtMS   int64  `json:"at_ms"`
			Label  string `json:"label"`
			Note   string `json:"note"`
			Author string `json:"author"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			http.Error(w, "bad marker: "+err.Error(), http.StatusBadRequest)
			return
		}
		m, err := AddManual(r.Context(), s, r.PathValue("rec"), time.Duration(in.AtMS)*time.Millisecond, in.Label, in.Note, in.Author)
		if err != nil {
			httpError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, m)
	})
	mux.HandleFunc("DELETE /recordings/{rec}/markers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Delete(r.Context(), r.PathValue("rec"), r.PathValue("id")); err != nil {
			httpError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /recordings/{rec}/chapters.vtt", func(w http.ResponseWriter, r *http.Request) {
		ms, err := s.List(r.Context(), r.PathValue("rec"))
		if err != nil {
			httpError(w, err)
			return
		}
		var dur time.Duration
		if v := r.URL.Query().Get("duration_ms"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				http.Error(w, "bad duration_ms", http.StatusBadRequest)
				return
			}
			dur = time.Duration(n) * time.Millisecond
		}
		w.Header().Set("Content-Type", "text/vtt; charset=utf-8")
		_ = WriteWebVTT(w, ms, dur)
	})
	return mux
}

func httpError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrInvalid):
		code = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	}
	http.Error(w, err.Error(), code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
