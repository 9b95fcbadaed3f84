// jstat ships no type declarations; only the normal distribution is used (domain/normal-distribution.ts).
declare module 'jstat' {
  interface NormalDistribution {
    cdf(x: number, mean: number, std: number): number;
    inv(p: number, mean: number, std: number): number;
  }
  const jstat: { jStat: { normal: NormalDistribution } };
  export default jstat;
}
