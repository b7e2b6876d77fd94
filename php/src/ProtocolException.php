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
}
