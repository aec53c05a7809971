// Config of the Hardhat node the EVM bridge tests start (test/evm/hardhat-node.ts). The node
// only serves JSON-RPC: contracts are compiled with solc-js by src/evm/compile.ts, so Hardhat's
// compile step (which would download a compiler) never runs.
module.exports = {
  solidity: '0.8.37',
  networks: {
    hardhat: {
      // Osaka is the default hardfork of Hardhat 2.29: it has the P-256 precompile at 0x100.
      hardfork: 'osaka',
      chainId: 31337,
      // Our tests and bench measure gas: no random base fee swings, every tx mined at once.
      initialBaseFeePerGas: 0,
      allowUnlimitedContractSize: false,
    },
  },
};
