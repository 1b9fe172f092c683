// Which Python runs the interop checks: $TALARIA_PYTHON when set (e.g. a
// virtualenv's python, since Debian 12's system pip refuses global installs
// without --break-system-packages), else python3 from PATH.
export const PYTHON = process.env.TALARIA_PYTHON || 'python3';
