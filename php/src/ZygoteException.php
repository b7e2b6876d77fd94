<?php

declare(strict_types=1);

namespace Zygote;

/**
 * Root of every exception the php-zygote runtime throws. ChannelException
 * (and its ProtocolException) means the transport broke; the others fail
 * one job and leave the channel usable.
 */
class ZygoteException extends \RuntimeException
{
}
