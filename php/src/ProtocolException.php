<?php

declare(strict_types=1);

namespace Zygote;

/**
 * The peer broke the wire protocol (docs/protocol.md): bad magic, unknown
 * version or flags, oversized or truncated frame. The channel it came from can no longer
 * be trusted.
 */
final class ProtocolException extends ChannelException
{
    /** Exit code of a worker or master that received a malformed frame (EX_DATAERR). */
    public const EXIT_CODE = 65;
}
