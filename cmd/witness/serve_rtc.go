package main

import "github.com/witness-media/witness/internal/rtcmount"

// `witness serve` includes the live-call server (/rtc/) and the marker
// API (/api/v1/markers/).
func init() { rtcmount.Register() }
