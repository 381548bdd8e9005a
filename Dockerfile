# vrrpd as a FROM-scratch image: one static binary, nothing else.
#
# Nothing is pulled: the binary is built on the host (scripts/build-static.sh)
# and the build context holds only it (scripts/build-image.sh stages it, and
# .dockerignore keeps everything else out when building from the repository
# root after `scripts/build-static.sh --stage`).
#
#   scripts/build-image.sh vrrpd:latest
#   docker run -d --network host --cap-drop ALL --cap-add NET_ADMIN --cap-add NET_RAW \
#       -v /etc/vrrpd:/etc/vrrpd:ro vrrpd:latest
FROM scratch

# The static-pie binary (no libc, no loader needed).
COPY vrrpd /usr/sbin/vrrpd
# scratch has no directories: the control socket's parent and /tmp come from
# empty directories in the context (mode 0755 / 1777 set by the staging script).
COPY run/ /run/
COPY tmp/ /tmp/

VOLUME /etc/vrrpd
# SIGTERM: make-before-break release of every VIP, well inside docker stop's
# default 10 s.
STOPSIGNAL SIGTERM
# vrrpd status: 0 when the daemon answers and no group is in FAULT,
# 1 on a FAULT, 3 when the daemon is not running.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/sbin/vrrpd", "status"]

# PID 1 is a minimal init (forwards signals, reaps orphans) that forks the
# daemon; see src/privileges.rs `init_if_pid1`.
ENTRYPOINT ["/usr/sbin/vrrpd", "run"]
CMD ["--config", "/etc/vrrpd"]
