<?php

declare(strict_types=1);

namespace Zygote;

/**
 * A frame this side was about to send exceeds the maximum frame size; it
 * was not sent, so the channel is still in step. In a handler it becomes
 * the job's error.
 */
final class FrameTooLargeException extends ZygoteException
{
}
