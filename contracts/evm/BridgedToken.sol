// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title BridgedToken
 * @notice The ERC-20 voucher of one Archipelago denomination, minted by its bridge when a
 * proven transfer arrives and burned by it when the holder sends the tokens back. Archipelago
 * amounts are integers, so the voucher has no decimals: one unit here is one unit there.
 */
contract BridgedToken is ERC20 {
    /// The bridge that deployed this token: the only minter and burner.
    address public immutable bridge;
    /// The voucher's full denomination here, `transfer/<client>/<denom on Archipelago>`.
    string public denom;

    error OnlyBridge();

    constructor(string memory denom_, string memory symbol_) ERC20(denom_, symbol_) {
        bridge = msg.sender;
        denom = denom_;
    }

    modifier onlyBridge() {
        if (msg.sender != bridge) revert OnlyBridge();
        _;
    }

    function decimals() public pure override returns (uint8) {
        return 0;
    }

    /// Mints `amount` to `to` (a proven receive).
    function mint(address to, uint256 amount) external onlyBridge {
        _mint(to, amount);
    }

    /// Burns `amount` of `from`'s tokens (the holder asked the bridge to send them back).
    function burn(address from, uint256 amount) external onlyBridge {
        _burn(from, amount);
    }
}
