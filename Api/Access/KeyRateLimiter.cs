namespace Ingest.Api.Access;

/// <summary>
/// One producer key's rate on this frontend: two token buckets (records/s and bytes/s), each holding
/// up to <c>burstSeconds</c> of rate. A request is admitted while each bucket holds at least its cost
/// (or is full, for a request bigger than the whole bucket), and then takes its full cost, going into
/// debt if needed: the long-run rate is exact and a large batch is never refused forever. The limit is
/// per frontend; the cluster-wide rate of a key is the sum over the frontends its clients reach.
/// </summary>
internal sealed class KeyRateLimiter(TimeProvider time)
{
    private readonly Lock _gate = new();
    private Bucket _records;
    private Bucket _bytes;
    private long _last = time.GetTimestamp();

    /// <summary>Sets the rates; tokens already earned are kept, up to the new size.</summary>
    public void Configure(double? recordsPerSecond, double? bytesPerSecond, double burstSeconds)
    {
        lock (_gate)
        {
            Refill();
            _records = _records.Reconfigure(recordsPerSecond, burstSeconds);
            _bytes = _bytes.Reconfigure(bytesPerSecond, burstSeconds);
        }
    }

    /// <summary>Takes <paramref name="records"/> and <paramref name="bytes"/>, or says how long until they would be admitted.</summary>
    public bool TryTake(int records, long bytes, out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            Refill();
            var wait = Math.Max(_records.SecondsUntil(records), _bytes.SecondsUntil(bytes));
            if (wait > 0)
            {
                retryAfter = TimeSpan.FromSeconds(wait);
                return false;
            }

            _records.Take(records);
            _bytes.Take(bytes);
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }

    private void Refill()
    {
        var now = time.GetTimestamp();
        var seconds = time.GetElapsedTime(_last, now).TotalSeconds;
        _last = now;
        _records.Refill(seconds);
        _bytes.Refill(seconds);
    }

    private struct Bucket
    {
        private double _rate; // per second; 0 = unlimited
        private double _size;
        private double _tokens;

        public readonly Bucket Reconfigure(double? rate, double burstSeconds)
        {
            if (rate is not > 0)
            {
                return default;
            }

            var size = rate.Value * burstSeconds;
            // A new limit starts full; a changed one keeps what was earned, up to its new size.
            var tokens = _rate > 0 ? Math.Min(_tokens, size) : size;
            return new Bucket { _rate = rate.Value, _size = size, _tokens = tokens };
        }

        public void Refill(double seconds)
        {
            if (_rate > 0)
            {
                _tokens = Math.Min(_size, _tokens + (seconds * _rate));
            }
        }

        public readonly double SecondsUntil(double cost)
        {
            if (_rate <= 0)
            {
                return 0;
            }

            var needed = Math.Min(cost, _size);
            return _tokens >= needed ? 0 : (needed - _tokens) / _rate;
        }

        public void Take(double cost)
        {
            if (_rate > 0)
            {
                _tokens -= cost;
            }
        }
    }
}
