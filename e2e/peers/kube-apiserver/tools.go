//go:build tools

// Package kubeapiserver pins the API server command so `go build
// k8s.io/kubernetes/cmd/kube-apiserver` resolves inside this module (the
// module proxy refuses `go install ...@version` for it).
package kubeapiserver

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
