package ingest

// DecodeRemoteWriteWithPrompb decodes a remote write 1.0 body on prompb's
// path alone (the one DecodeRemoteWrite takes for requests the zero-copy
// decoder does not read the same way), for tests that compare the paths.
func DecodeRemoteWriteWithPrompb(body []byte, opt DecodeOptions) ([]Sample, int, error) {
	return decodeRemoteWrite(body, RemoteWriteV1, opt, false)
}
