<?php

declare(strict_types=1);

namespace Zygote;

/**
 * @internal Carries a forked worker's channel out of the master's loop to
 * Zygote::forkPerWorker(), which catches it; the JobHandOff of workers
 * that read their jobs themselves. Not a ZygoteException: nothing else
 * may catch it on the way.
 */
final class ChannelHandOff extends \Exception
{
    public function __construct(public readonly \Socket $channel)
    {
        parent::__construct('a forked worker took its channel');
    }
}
