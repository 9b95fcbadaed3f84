// cluster-key-slot ships no type declarations; only the slot calculation is used (store/redis/history-streams.ts).
declare module 'cluster-key-slot' {
  /** Redis Cluster hash slot (0–16383) of a key: CRC16 of its hash tag, or of the whole key without one. */
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
