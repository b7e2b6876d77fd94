<?php

declare(strict_types=1);

namespace Zygote;

/**
 * The channel itself broke: a read or write failed, or the peer went
 * away. Nothing more can be sent or received on it.
 */
class ChannelException extends ZygoteException
{
}
