//go:build tools

// The command this module builds; importing it keeps go.sum complete.
package tools

import _ "go.etcd.io/etcd/server/v3"
