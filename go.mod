module github.com/witness-media/witness

go 1.26

require (
	github.com/asticode/go-astiav v0.16.0
	github.com/go-gst/go-gst v1.4.0
	github.com/yalue/onnxruntime_go v1.35.0
	gocv.io/x/gocv v0.32.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/asticode/go-astikit v0.42.0 // indirect
	github.com/go-gst/go-glib v1.4.0 // indirect
	github.com/mattn/go-pointer v0.0.1 // indirect
	golang.org/x/exp v0.0.0-20240909161429-701f63a606c0 // indirect
)
